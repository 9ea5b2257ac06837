"""Programming a mapped network: program-and-verify every device, then evaluate the network as programmed.

The network is mapped exactly as ``xbar infer`` maps it (:class:`~xbar.network.analog.AnalogNetwork`);
every device of every tile is programmed from all-AP to its state
(:func:`xbar.programming.verify.program`), and the programmed cells feed the same
analog evaluation: each tile's states become its per-cell P flags, and broken
junctions become fixed low resistances in that tile's circuit. The report sets
the programming cost and failures of each thickness against its read accuracy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from xbar import __version__
from xbar.analysis import plots
from xbar.experiments.provenance import provenance
from xbar.util.atomic import write_text
from xbar.util.store import Kind, open_store
from xbar.array.crossbar import Crossbar
from xbar.network.datasets import load
from xbar.device.variation import Variation
from xbar.device.faults import Faults
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.analog import AnalogNetwork
from xbar.network.mapping import Tile
from xbar.network.mlp import Network, trained
from xbar.programming.verify import STATUS, ProgramParams, ProgramResult, program
from xbar.device.switching import SwitchingParams
from xbar.array.write_circuit import WritePath


class ProgrammedNetwork(AnalogNetwork):
    """An :class:`AnalogNetwork` whose tiles hold programmed cells instead of their targets.

    ``results`` maps (layer, tile index) to that tile's :class:`ProgramResult`;
    shorted junctions read ``short_ohm``. Effective matrices are kept in memory only.
    """

    def __init__(self, network: Network, spec: CircuitSpec, results: dict, short_ohm: float):
        super().__init__(network, spec, cache_dir=None)
        self.results = results
        self.short_ohm = float(short_ohm)
        self.tiles = [[dataclasses.replace(t, states=results[(t.layer, t.index)].cells_p) for t in layer]
                      for layer in self.tiles]

    def crossbar(self, tile: Tile) -> Crossbar:
        """The tile as programmed: its cells' P flags, the spec's variation and faults, then broken junctions."""
        xb = super().crossbar(tile)
        shorted = self.results[(tile.layer, tile.index)].shorted
        if not shorted.any():
            return xb
        return dataclasses.replace(xb, cell_resistance_ohm=np.where(shorted, self.short_ohm, xb.cell_resistance_ohm),
                                   variation=Variation(), faults=Faults())


def program_network(intended: AnalogNetwork, thickness_nm: float, switching: SwitchingParams | None = None,
                    params: ProgramParams | None = None, path: WritePath | None = None, seed: int = 0,
                    quiet: bool = True) -> tuple[dict, ProgramResult]:
    """Program every tile of ``intended`` at once; returns ({(layer, index): tile result}, all devices' result)."""
    tiles = [t for layer in intended.tiles for t in layer]
    flat = np.concatenate([t.states.ravel() for t in tiles]).astype(np.int64)
    with tqdm(total=len(flat), desc=f"programming {thickness_nm:g} nm", unit="dev", disable=quiet) as bar:
        res = program(intended.device, thickness_nm, flat, switching=switching, params=params, path=path,
                      seed=seed, progress=bar.update)
    out, pos = {}, 0
    for t in tiles:
        size = t.states.size
        sl = slice(pos, pos + size)
        out[(t.layer, t.index)] = ProgramResult(*(getattr(res, f.name)[sl].reshape(t.states.shape + getattr(
            res, f.name).shape[1:]) for f in dataclasses.fields(res)))
        pos += size
    return out, res


#: Fields of a study record that the report, the figures and the command line read.
RECORD_FIELDS = ("cells", "thickness_nm", "n_test", "devices", "yield_fraction", "stuck", "broken", "pulses",
                 "energy_j", "time_s", "accuracy_ideal_quantized", "accuracy_intended", "accuracy_programmed",
                 "accuracy_without_shorts")


def _complete(record: dict) -> bool:
    """True when every :data:`RECORD_FIELDS` entry is a finite number (a record worth reusing)."""
    values = [record.get(name) for name in RECORD_FIELDS]
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in values)


#: ``xbar program``'s results store (``OUT/results.jsonl``).
PROGRAM_STORE = Kind("xbar_program", "program study", "choose another --out folder", valid_record=_complete)


def program_point(network: Network, data, spec: CircuitSpec, switching: SwitchingParams | None = None,
                  params: ProgramParams | None = None, path: WritePath | None = None, seed: int = 0,
                  n_test: int | None = None, quiet: bool = True) -> dict:
    """Program ``network`` on circuits built from ``spec`` and compare accuracies; a JSON-ready record."""
    switching = switching or SwitchingParams()
    t0 = time.perf_counter()
    intended = AnalogNetwork(network, spec)
    per_tile, res = program_network(intended, spec.thickness_nm, switching, params, path, seed, quiet)
    t_program = time.perf_counter() - t0
    x, y = data.x_test[:n_test], data.y_test[:n_test]
    logits_a, logits_i, _ = intended.run(x)
    programmed = ProgrammedNetwork(network, spec, per_tile, switching.short_ohm)
    logits_p, _, _ = programmed.run(x)
    if res.shorted.any():  # the same array with its broken junctions isolated: what the shorts alone cost
        isolated = {k: dataclasses.replace(r, shorted=np.zeros_like(r.shorted)) for k, r in per_tile.items()}
        logits_s, _, _ = ProgrammedNetwork(network, spec, isolated, switching.short_ohm).run(x)
    else:
        logits_s = logits_p
    s = res.summary()
    return dict(dataset=data.name, n_test=len(x), cells=spec.n_cells, thickness_nm=spec.thickness_nm,
                field_mt=switching.field_mt, seed=seed, **s,
                accuracy_ideal_quantized=float(np.mean(logits_i.argmax(1) == y)),
                accuracy_intended=float(np.mean(logits_a.argmax(1) == y)),
                accuracy_programmed=float(np.mean(logits_p.argmax(1) == y)),
                accuracy_without_shorts=float(np.mean(logits_s.argmax(1) == y)),
                circuit=dataclasses.asdict(spec), seconds_program=t_program, seconds_total=time.perf_counter() - t0)


def run_program(dataset: str, spec: CircuitSpec, out_dir, thicknesses=(1.6, 1.9, 2.2, 2.6), cells=(3,),
                switching: SwitchingParams | None = None, params: ProgramParams | None = None,
                path: WritePath | None = None, seed: int = 0, n_test: int | None = None, data_dir=None,
                quiet: bool = False, temperatures=(None,)) -> list[dict]:
    """The thickness x cells study: program and evaluate each point; ``results.jsonl``, ``report.md`` and figures.

    ``temperatures`` (C; None: the spec's own) adds a temperature axis: each point is written and
    read at that temperature (switching: Delta and I_c0; reads: wires, TMR, R_P, transistor).

    Finished points are kept in ``out_dir/results.jsonl`` (the store protocol of
    :mod:`xbar.util.store`: foreign files and links refused, one writer at a time), so a rerun resumes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    switching = switching or SwitchingParams()
    params = params or ProgramParams()
    path = path or WritePath()
    records = []
    grid = [(c, t, temp) for temp in temperatures for c in cells for t in thicknesses]
    with open_store(out / "results.jsonl", PROGRAM_STORE) as store:  # refused before any work if not ours
        store.ensure_header(PROGRAM_STORE.header())
        _, done = store.read()
        data = load(dataset, data_dir)
        net = trained(dataset, seed=seed, data_dir=data_dir)
        n_eval = len(data.x_test[:n_test])
        for c, t, temp in tqdm(grid, desc="program study", disable=quiet):
            point = dataclasses.replace(spec, n_cells=c, thickness_nm=t)
            hot = switching
            if temp is not None:
                point = dataclasses.replace(point, temperature_c=temp)
                hot = dataclasses.replace(switching, temperature_c=temp)
            key = point_key(dataset, point, hot, params, path, seed, n_eval)
            if key not in done:
                done[key] = dict(program_point(net, data, point, hot, params, path, seed, n_test, quiet),
                                 key=key, temperature_c=hot.temperature_c)
                store.append(done[key])
            records.append(done[key])
    write_text(out / "report.md", report(records, switching, provenance(dict(training=seed, variation=seed))))
    figure(records, out / "tradeoff")
    ramp_figure(thicknesses, sorted(set(cells) | {1}), switching, out / "ramps", seed)
    return records


def point_key(dataset: str, spec: CircuitSpec, switching: SwitchingParams, params: ProgramParams,
              path: WritePath, seed: int, n_test: int) -> str:
    """Hex key of one study point: everything that defines its result (a changed option never reuses a point)."""
    what = (__version__, dataset, dataclasses.asdict(spec), dataclasses.asdict(switching),
            dataclasses.asdict(params), dataclasses.asdict(path), int(seed), int(n_test))
    return hashlib.sha256(repr(what).encode()).hexdigest()[:24]


def report(records: list[dict], switching: SwitchingParams, rerun: dict | None = None) -> str:
    """Markdown table of the study, with the model's parameter sources and how to rerun it."""
    from xbar.device.switching import parameter_table
    lines = ["# Programming the network: cost and failures against accuracy", "",
             f"Assisting field {switching.field_mt:g} mT, pulses {switching.pulse_s * 1e9:g} ns. Outcomes: "
             + ", ".join(STATUS) + ".", "",
             "| cells | t (nm) | T (C) | yield | stuck | broken | pulses | energy (uJ) | time (ms) | ideal q. "
             "| intended | programmed | shorts isolated |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r['cells']} | {r['thickness_nm']:.1f} | {r.get('temperature_c', 27.0):g} "
                     f"| {100 * r['yield_fraction']:.2f} % | {r['stuck']} "
                     f"| {r['broken']} | {r['pulses']} | {r['energy_j'] * 1e6:.1f} | {r['time_s'] * 1e3:.1f} "
                     f"| {100 * r['accuracy_ideal_quantized']:.2f} % | {100 * r['accuracy_intended']:.2f} % "
                     f"| {100 * r['accuracy_programmed']:.2f} % | {100 * r['accuracy_without_shorts']:.2f} % |")
    lines += ["", "Time is the sum of every pulse and verify read, one device at a time. \"Shorts isolated\" "
              "evaluates the same programmed array with its broken junctions read as their programmed state: "
              "the gap to \"programmed\" is what the shorts alone cost.", "",
              *[f"Note: {line}" for line in broken_caveats(records)],
              "## Switching model parameters", "", parameter_table(switching), ""]
    if rerun:
        from xbar.experiments.provenance import markdown
        lines += markdown(rerun)
    return "\n".join(lines)


def broken_caveats(records: list[dict]) -> list[str]:
    """One line per point whose broken junctions cost accuracy: how much each one costs, and why."""
    out = []
    for r in records:
        lost = r["accuracy_intended"] - r["accuracy_programmed"]
        if r["broken"] and lost > 0:
            out.append(f"{r['cells']} cells at {r['thickness_nm']:.1f} nm: {r['broken']} broken junctions of "
                       f"{r['devices']} devices cost {100 * lost:.1f} points ({100 * lost / r['broken']:.2f} each): "
                       "a broken (shorted) junction conducts far more than any state and swamps its column; "
                       "\"shorts isolated\" shows what disconnecting them wins back.")
    return out


def figure(records: list[dict], stem) -> None:
    """Yield, energy and accuracy against thickness, one line per cell count; PNG and SVG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for k, c in enumerate(sorted({r["cells"] for r in records})):
        rs = sorted((r for r in records if r["cells"] == c), key=lambda r: r["thickness_nm"])
        t, color, name = [r["thickness_nm"] for r in rs], f"C{k}", f"{c} cell{'s' if c > 1 else ''}"
        axes[0].plot(t, [100 * r["yield_fraction"] for r in rs], "o-", color=color, label=f"{name}: at target")
        axes[0].plot(t, [100 * r["stuck"] / r["devices"] for r in rs], "^--", color=color, label=f"{name}: stuck")
        axes[0].plot(t, [100 * r["broken"] / r["devices"] for r in rs], "x:", color=color, label=f"{name}: broken")
        axes[1].plot(t, [r["energy_j"] * 1e6 for r in rs], "o-", color=color, label=name)
        axes[2].plot(t, [100 * r["accuracy_programmed"] for r in rs], "o-", color=color, label=f"{name}: programmed")
        axes[2].plot(t, [100 * r["accuracy_intended"] for r in rs], "s:", color=color, label=f"{name}: intended")
    for ax, label in zip(axes, ("devices (%)", "write energy (uJ)", "test accuracy (%)")):
        ax.set_xlabel("free-layer thickness (nm)")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    fig.tight_layout()
    plots.save(fig, Path(stem))
    plt.close(fig)


def ramp_figure(thicknesses, cells, switching: SwitchingParams, stem, seed: int = 0) -> None:
    """R(V) ramps like the paper's Fig. 4c/g: one device per thickness and cell count, with mean V_B; PNG and SVG.

    1-cell devices are ramped field-free (Fig. 4c), multi-cell ones at the model's field (Fig. 4g).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from xbar.device.library import library_device
    from xbar.programming.verify import ramp_voltages
    from xbar.device.switching import breakdown_voltage
    fig, axes = plt.subplots(1, len(cells), figsize=(4.2 * len(cells), 3.6), squeeze=False)
    for ax, c in zip(axes[0], cells):
        sw = dataclasses.replace(switching, field_mt=0.0) if c == 1 else switching
        for k, t in enumerate(thicknesses):
            device = library_device(thickness_nm=t, n_cells=c)
            _, v_ch, states = ramp_voltages(device, t, switching=sw, seed=seed)
            keep = v_ch <= 1.25 * max(v_ch[np.argmax(states == c)] if (states == c).any() else v_ch[-1], 1.0)
            line, = ax.plot(v_ch[keep], 1e-3 / device.conductances()[states[keep]], label=f"{t:.1f} nm")
            ax.axvline(breakdown_voltage(sw, t, c), color=line.get_color(), ls=":", lw=0.8)
        ax.set_title(f"{c} cell{'s' if c > 1 else ''}, {sw.field_mt:g} mT (dotted: mean V_B)")
        ax.set_xlabel("voltage across the channel (V)")
        ax.set_ylabel("device resistance (kohm)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    plots.save(fig, Path(stem))
    plt.close(fig)
