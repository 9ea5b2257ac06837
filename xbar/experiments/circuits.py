"""Analog inference experiments: one network on circuits against ideal quantized inference, and studies.

:func:`compare` runs a test set through an :class:`~xbar.network.analog.AnalogNetwork`
and returns a JSON-ready record; :func:`inference_point` is the same as a pure
function of plain parameters, for sweeps; :func:`run_infer` runs the studies of
``xbar infer`` and writes the Markdown report and figures.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from xbar import __version__
from xbar.analysis import plots
from xbar.analysis.energy import READ_PULSE_S
from xbar.analysis.read_disturb import read_disturb
from xbar.util.atomic import write_text
from xbar.network.datasets import Dataset, load
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.analog import AnalogNetwork
from xbar.network.design import design_costs
from xbar.experiments.records import device_record, spice_agreement  # noqa: F401  (spice_agreement re-exported)
from xbar.network.mitigation import mitigate
from xbar.util.errors import ParameterError
from xbar.network.models import Conv, Model, from_network, load_model
from xbar.network.mlp import EPOCHS, HIDDEN, Network, accuracy, default_cache_dir, network_path, trained
from xbar.network.quantize import paper_levels, quantize_network
from xbar.experiments import readout
from xbar.experiments.infer_report import report_markdown
from xbar.experiments.provenance import provenance
from xbar.experiments.studies import (
    CORRELATED_SCALES,
    EXTRA_STUDIES,
    FAULT_RATES,
    STUDIES,
    WIRE_OHMS,
    study_specs,
)


#: Test images per chunk for networks with convolutions (their im2col rows are many).
CONV_CHUNK = 1000


def input_scales(model: Model, x: np.ndarray) -> np.ndarray:
    """Per matrix layer, the largest |input| of the full-precision model on ``x`` (at least 1): the
    activation driven at V_read. Inputs within [0, 1] (pixels, sigmoid outputs) keep 1."""
    peaks = []
    layers = model.matrix_layers()

    def record(l: int, a: np.ndarray) -> np.ndarray:
        peaks.append(float(np.abs(a).max()) if a.size else 1.0)
        return a @ layers[l][0] + layers[l][1]

    model.forward(x, record)
    return np.maximum(np.array(peaks), 1.0)


def check_model_input(model: Model, data: Dataset) -> None:
    """A ParameterError unless ``model`` takes the dataset's images (same number of values per image)."""
    if model.n_features != data.n_features:
        raise ParameterError(f"{model.name} takes inputs of shape {list(model.input_shape)} "
                             f"({model.n_features} values), but {data.name} images have {data.n_features} values")


def compare(network: Network | Model, data: Dataset, spec: CircuitSpec, backend: str = "native",
            n_test: int | None = None, ir_samples: int = 16, cache_dir=None, details: bool = False,
            tasks: dict | None = None, spice_devices: str = "full") -> dict:
    """Accuracy, agreement, per-layer error and IR drop of ``network`` on circuits built from ``spec``.

    ``network``: the paper's MLP or an imported :class:`~xbar.network.models.Model` (then
    each layer's input scale comes from 256 training images, see :func:`input_scales`,
    and there is no paper-method column). Uses the first ``n_test`` test images
    (all when None), in chunks for convolutional models. With
    ``spec.calibration_images`` > 0 the analog outputs are first calibrated
    (:meth:`AnalogNetwork.calibrate`) on that many training images. With
    ``details`` the record also holds arrays for figures under ``"arrays"``
    (not JSON-ready). ``spice_devices``: how ``backend="ngspice"`` writes the devices (``full`` or
    ``condensed``, see :class:`~xbar.solvers.ngspice.NgspiceSolver`). ``tasks``: where the tile solves run, the keywords of
    :meth:`AnalogNetwork.use_workers` (``workers``, ``scheduler``, ``timeout_s``).
    """
    x, y = data.x_test[:n_test], data.y_test[:n_test]
    imported = isinstance(network, Model)
    model = network if imported else from_network(network)
    check_model_input(model, data)
    scales = input_scales(model, data.x_train[:256]) if imported else None
    analog_net = AnalogNetwork(network, spec, cache_dir=cache_dir, input_scales=scales)
    mitigation = None
    if spec.mitigation != "none":
        analog_net, mitigation = mitigate(analog_net, spec.mitigations(), data.x_train[:256])
    analog_net.spice_devices = spice_devices
    if tasks:
        analog_net.use_workers(**tasks)
    if spec.calibration_images:
        analog_net.calibrate(data.x_train[:spec.calibration_images], backend)
    analog_net.energy_j = 0.0
    chunk = CONV_CHUNK if any(isinstance(op, Conv) for op in model.ops) else max(len(x), 1)
    pred_a, pred_i, pred_f, out_a, last_a, last_i = [], [], [], [], [], []
    sums, first = None, None
    for k in range(0, len(x), chunk):
        xc = x[k:k + chunk]
        logits_a, logits_i, layers = analog_net.run(xc, backend, keep_inputs=ir_samples if k == 0 else 0)
        first = layers if k == 0 else first
        pred_a.append(logits_a.argmax(1))
        pred_i.append(logits_i.argmax(1))
        pred_f.append(model.predict(xc))
        out_a.append(logits_a)
        last_a.append(layers[-1].z_analog)
        last_i.append(layers[-1].z_ideal)
        stats = [(float(((r.z_analog - r.z_ideal) ** 2).sum()), float((r.z_ideal ** 2).sum()), r.z_ideal.size,
                  float(np.abs(r.z_analog - r.z_ideal).max()), float(np.abs(r.z_ideal).max())) for r in layers]
        sums = stats if sums is None else [(a[0] + b[0], a[1] + b[1], a[2] + b[2], max(a[3], b[3]), max(a[4], b[4]))
                                           for a, b in zip(sums, stats)]
    pred_a, pred_i, pred_f, out_a = map(np.concatenate, (pred_a, pred_i, pred_f, out_a))
    spice = spice_agreement(analog_net, x, out_a) if backend in ("ngspice", "pyspice") else None
    paper = None
    if not imported:
        paper = accuracy(quantize_network(network, paper_levels(analog_net.device), rule=spec.rule).network, x, y)
    record = dict(
        dataset=data.name, n_test=len(x), spec=dataclasses.asdict(spec), backend=backend, model=model.name,
        accuracy_full_precision=float(np.mean(pred_f == y)),
        accuracy_paper_quantized=paper,
        accuracy_ideal_quantized=float(np.mean(pred_i == y)),
        accuracy_analog=float(np.mean(pred_a == y)),
        top1_agreement=float(np.mean(pred_a == pred_i)),
        device=device_record(analog_net.device),
        layers=[], ir_drop=[],
    )
    if spice:
        record["spice"] = spice
    if mitigation:
        record["mitigation"] = mitigation
    record["design"] = design_costs(analog_net, len(x))
    if spec.adc_bits is not None:
        full = [analog_net.adc_full_scale(t) for tiles in analog_net.tiles for t in tiles]
        record["adc_full_scale_a"] = dict(min=min(full), max=max(full))
    maps = []
    for l, (res, (se, si, n, worst, peak)) in enumerate(zip(first, sums)):
        record["layers"].append(dict(layer=l, rms_rel=float(np.sqrt((se / n) / (si / n))),
                                     worst_rel=float(worst / peak)))
        for st in analog_net.ir_drop(l, res.inputs):
            maps.append(st.pop("map_rel"))
            record["ir_drop"].append(dict(st, tile=list(st["tile"])))
    runs = analog_net.nonlinear_runs
    if runs:
        vectors = sum(r["vectors"] for r in runs)
        record["junction_solver"] = dict(
            method=runs[0]["method"], v_half_volt=runs[0]["v_half_volt"], tol=runs[0]["tol"], tile_solves=len(runs),
            back_substitutions_per_vector=sum(r.get("back_substitutions_per_vector", 0.0) * r["vectors"]
                                              for r in runs) / max(1, vectors),
            newton_vectors=sum(r.get("newton_vectors", r["vectors"]) for r in runs))
    record["read_disturb"] = read_disturb([s["worst_device_a"] for s in record["ir_drop"]], spec.thickness_nm,
                                          n_cells=spec.n_cells, temperature_c=spec.temperature_c)
    if details:
        worst = int(np.argmax([st["worst_rel"] for st in record["ir_drop"]]))
        record["arrays"] = dict(ir_map=maps[worst], ir_tile=record["ir_drop"][worst],
                                z_ideal=np.concatenate(last_i), z_analog=np.concatenate(last_a))
    return record


def inference_point(dataset: str = "digits", seed: int = 0, cells: int = 3, thickness_nm: float = 1.9,
                    wire_ohm: float = 1.0, tile: int | None = 128, sense: str = "tia", ref_ohm: float = 1e6,
                    sigma: float = 0.0, variation_seed: int = 0, v_read: float = 0.1, adc_bits: int | None = None,
                    scheme: str = "differential", calibration_images: int = 0, n_test: int | None = None,
                    hidden: int = 128, epochs: int = 40, data_dir=None, fault_rate: float = 0.0,
                    correlated_scale: float = 0.0, device_file: str | None = None,
                    device_sha256: str | None = None, v_half_volt: float | None = None) -> dict:
    """One analog-inference point from plain parameters (a sweep task); returns a JSON-ready record.

    ``fault_rate``: fraction of faulty cells; ``correlated_scale``: multiple of the
    typical correlated RA/TMR spreads (:meth:`xbar.device.variation.Variation.typical`).
    ``device_file`` replaces the library device (``cells``, ``thickness_nm``);
    ``device_sha256``, when given, must be that file's hash, so a sweep's point
    keys follow the file's content and an edited file is refused, not mixed in.
    ``v_half_volt``: the junctions' TMR bias half-point in volt (None: linear, or the device file's).
    """
    from xbar.device.variation import Variation
    if device_sha256 is not None:
        from xbar.device.files import file_sha256
        if device_file is None or file_sha256(device_file) != device_sha256:
            raise ParameterError(f"device file {device_file} changed since the sweep started (sha256 differs)")
    correlated = {k: correlated_scale * v for k, v in Variation.typical().sigma_fields().items() if k != "sigma"}
    spec = CircuitSpec(n_cells=cells, thickness_nm=thickness_nm, wire_ohm=wire_ohm, sense=sense, ref_ohm=ref_ohm,
                       sigma=sigma, variation_seed=variation_seed, tile_rows=tile, tile_cols=tile, v_read=v_read,
                       adc_bits=adc_bits, scheme=scheme, calibration_images=calibration_images,
                       fault_rate=fault_rate, device_file=device_file, v_half_volt=v_half_volt, **correlated)
    net = trained(dataset, seed=seed, hidden=hidden, epochs=epochs, data_dir=data_dir)
    rec = compare(net, load(dataset, data_dir), spec, n_test=n_test,
                  cache_dir=default_cache_dir())
    return {k: v for k, v in rec.items() if k != "spec"}


def run_infer(dataset: str, base: CircuitSpec, out_dir, studies=(), seed: int = 0,
              n_test: int | None = None, data_dir=None, backend: str = "native", netlist_dir=None,
              quiet: bool = False, say=None, model_file=None, t_read_s: float = READ_PULSE_S,
              seeds: int = 1, tasks: dict | None = None, spice_devices: str = "full") -> dict:
    """Run the base spec and the ``studies`` (names of :data:`STUDIES`); write the outputs to ``out_dir``.

    ``model_file`` (.onnx or .npz, see :mod:`xbar.network.models`) replaces the paper's MLP
    trained by xbar; it is read and checked against the dataset before anything runs.
    ``tasks``: where tile solves run (see :func:`compare`), for the base run and the studies;
    ``spice_devices``: the base run's ngspice devices (see :func:`compare`).

    Writes ``report.md``, ``results.json`` and figures, creating ``out_dir`` only
    then, so a run that fails early leaves nothing behind. ``say(line)``, when
    given, receives the plan and the estimated cost of the studies before they run.
    ``seeds`` > 1 reruns the base configuration for seeds ``seed + 1 ..`` (training and variation:
    a new network and a new draw of the arrays) and reports each metric's mean and spread.
    """
    start = time.perf_counter()
    say = say or (lambda line: None)
    out = Path(out_dir)
    if {"energy", "readout"} & set(studies) and not base.linear:
        raise ParameterError("--study energy and readout analyse linear circuits only (exact array energy, noise "
                             "and settling): drop --vh (or the device file's v_half_volt) and --access; the "
                             "base report gives a non-linear run's read energy from its zero-bias admittance")
    data = load(dataset, data_dir)
    model = None
    if model_file is not None:
        model = load_model(model_file)
        check_model_input(model, data)
    n_images = len(data.x_test[:n_test])
    points = study_specs(base, studies)
    say(f"{data.name}: base run on {n_images} test images"
        + (f", then {len(points)} study points ({', '.join(studies)})" if points else ""))
    if model is not None:
        net = model
    else:
        if not network_path(dataset, seed).is_file():
            say(f"network: training the paper's {data.n_features}-{HIDDEN}-{data.n_classes} network on "
                f"{len(data.x_train)} images for {EPOCHS} epochs (first run only; cached in "
                f"{network_path(dataset, seed).parent})")
        net = trained(dataset, seed=seed, data_dir=data_dir, progress=not quiet)
    cache = default_cache_dir()
    t0 = time.perf_counter()
    base_rec = compare(net, data, base, backend=backend, n_test=n_test, cache_dir=cache, details=True, tasks=tasks,
                       spice_devices=spice_devices)
    base_s = time.perf_counter() - t0
    arrays = base_rec.pop("arrays")
    seed_runs = _other_seeds(net if model is not None else None, dataset, data, base, seed, seeds, n_test,
                             cache, data_dir, quiet, say, first=base_rec)
    if netlist_dir:
        scales = input_scales(net, data.x_train[:256]) if model is not None else None
        write_tile_netlists(AnalogNetwork(net, base, input_scales=scales), data.x_test[:1], netlist_dir)
    if points:
        # the studies run natively; with a warm matrix cache each is faster than this
        say(f"studies: {len(points)} points, estimated {_duration(len(points) * base_s)} "
            f"({len(points)} x the base run's {base_s:.1f} s)")
    rows = []
    for study, label, spec in tqdm(points, desc="studies", unit="point", disable=quiet or not points):
        rec = compare(net, data, spec, n_test=n_test, cache_dir=cache, tasks=tasks)
        rows.append(dict(study=study, label=label, **{k: rec[k] for k in _SUMMARY}, layers=rec["layers"],
                         worst_ir_rel=max(s["worst_rel"] for s in rec["ir_drop"]),
                         mean_ir_rel=float(np.mean([s["mean_rel"] for s in rec["ir_drop"]])),
                         cells=spec.n_cells, wire_ohm=spec.wire_ohm, v_read=spec.v_read,
                         v_half_volt=spec.v_half_volt, **({"mitigation": rec["mitigation"]}
                                                          if "mitigation" in rec else {})))
    if ("energy" in studies or "readout" in studies) and model is None:
        # a per-tile circuit analysis (energy, noise, settling) of the paper's MLP: minutes on MNIST, so opt-in
        say(f"energy: exact array energy, noise and settling of the base run's "
            f"{sum(len(t) for t in AnalogNetwork(net, base).tiles)} tiles")
        base_rec["energy"] = readout.base_energy(net, base, data.x_test[:n_test], t_read_s)
    if "readout" in studies and model is None:
        say(f"readout study: {len(readout.TRADEOFF_V_READ) * len(readout.TRADEOFF_T_READ)} V_read x t_read points")
        base_rec["energy"]["tradeoff"] = readout.tradeoff(net, base, data.x_test[:n_test], data.y_test[:n_test])
    info = dict(version=__version__, date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                seconds=round(time.perf_counter() - start, 1), base_seconds=round(base_s, 1),
                rerun=provenance(dict(training=seed if model is None else None, variation=base.variation_seed,
                                      noise=base.noise_seed, seeds=list(range(seed, seed + seeds)))))
    figures = _figures(out, base_rec, arrays, rows)
    result = dict(base=base_rec, studies=rows, info=info, figures=[str(p.name) for p in figures])
    if seed_runs:
        result["seeds"] = seed_runs
    write_text(out / "results.json", json.dumps(result, indent=1))
    write_text(out / "report.md", report_markdown(base_rec, rows, figures, info, seed_runs))
    return result


def _other_seeds(model, dataset, data, base: CircuitSpec, seed: int, seeds: int, n_test, cache, data_dir,
                 quiet: bool, say, first: dict) -> dict | None:
    """The base run again for seeds ``seed + 1 .. seed + seeds - 1``: per-seed metrics, their mean and spread.

    The paper's MLP is retrained for each seed; an imported ``model`` is fixed, so only the arrays'
    variation, faults and noise are drawn anew.
    """
    if seeds <= 1:
        return None
    say(f"seeds: the base run again for seeds {seed + 1}..{seed + seeds - 1}"
        + (" (a new network and a new draw of the arrays each)" if model is None else " (new arrays each)"))
    runs = [dict(seed=seed, **{k: first[k] for k in _SUMMARY})]
    for s in tqdm(range(seed + 1, seed + seeds), desc="seeds", unit="seed", disable=quiet):
        net = model if model is not None else trained(dataset, seed=s, data_dir=data_dir, progress=False)
        spec = dataclasses.replace(base, variation_seed=s, noise_seed=s)
        rec = compare(net, data, spec, n_test=n_test, cache_dir=cache)
        runs.append(dict(seed=s, **{k: rec[k] for k in _SUMMARY}))
    stats = {}
    for k in _SUMMARY:
        values = [r[k] for r in runs if r[k] is not None]
        if values:
            stats[k] = dict(mean=float(np.mean(values)), std=float(np.std(values, ddof=1)),
                            min=float(np.min(values)), max=float(np.max(values)))
    return dict(runs=runs, stats=stats)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


_SUMMARY = ("accuracy_full_precision", "accuracy_paper_quantized", "accuracy_ideal_quantized",
            "accuracy_analog", "top1_agreement")


def write_tile_netlists(analog_net: AnalogNetwork, x: np.ndarray, directory) -> list[Path]:
    """Write every tile's netlist, its sources set by the first input of ``x``, as ``layer<l>_tile<r>_<c>.cir``.

    A convolution's tiles are driven by its first im2col patch of that input.
    Each netlist's header says which columns form each output, which row is the bias row and what drives the rows.
    """
    from xbar.array.netlist import write_netlist
    paths = []

    def write(l: int, a: np.ndarray) -> np.ndarray:
        v = analog_net.row_voltages(a[:1], l)
        for tile in analog_net.tiles[l]:
            name = f"layer{l}_tile{tile.index[0]}_{tile.index[1]}"
            paths.append(write_netlist(analog_net.circuit(tile), Path(directory) / f"{name}.cir",
                                       inputs=v[0, tile.rows[0]:tile.rows[1]], title=f"xbar {name}",
                                       notes=tile_notes(analog_net, tile)))
        return analog_net.pre_activation(l, a)

    analog_net.model.forward(x[:1], write)
    return paths


def tile_notes(analog_net: AnalogNetwork, tile) -> list[str]:
    """Comment lines for a tile's netlist: its place in the layer, its columns' outputs, its bias row, its inputs."""
    l, (r0, r1), (o0, o1) = tile.layer, tile.rows, tile.outputs
    n_in = analog_net.layers[l].states.shape[0] - 1  # the augmented matrix's last row is the bias
    notes = [f"tile: layer {l} rows {r0}..{r1 - 1} of its {n_in} inputs + bias, outputs {o0}..{o1 - 1}"]
    if analog_net.spec.scheme == "differential":
        notes += [f"differential pairs: columns {2 * k} (+) and {2 * k + 1} (-) give output {o0 + k} "
                  "(I+ - I-)" for k in range(o1 - o0)]
    else:
        k = o1 - o0
        notes += [f"columns 0..{k - 1} give outputs {o0}..{o1 - 1}, each less the mean of the reference columns:",
                  f"reference columns {k} (all devices in state 0) and {k + 1} (all in state {analog_net.layers[l].n_cells})"]
    notes.append(f"bias row: row {r1 - 1 - r0} (row source V{r1 - 1 - r0}, at the bias voltage)" if r1 == n_in + 1
                 else "bias row: none in this tile (the bias is in the last row of tiles of this layer)")
    notes.append("row sources: test input 0 of the dataset, " + ("its pixels" if l == 0 else
                 f"through the layers before: the activations that enter layer {l}"))
    return notes


def _figures(out: Path, base: dict, arrays: dict, rows: list[dict]) -> list[Path]:
    figs = []
    tile = arrays["ir_tile"]
    figs += plots.save(plots.ir_drop_heatmap(arrays["ir_map"], f"worst tile, layer {tile['layer']} tile "
                                             f"{tuple(tile['tile'])}: mean voltage lost before each cell"),
                       out / "ir_drop_heatmap")
    wire = [r for r in rows if r["study"] == "wire"]
    if wire:
        by_cells = {c: [(r["wire_ohm"], r["accuracy_analog"], r["accuracy_ideal_quantized"]) for r in wire
                        if r["cells"] == c] for c in sorted({r["cells"] for r in wire})}
        figs += plots.save(plots.accuracy_vs_wire(by_cells), out / "accuracy_vs_wire")
    nonlinear = [r for r in rows if r["study"] == "nonlinear"]
    if nonlinear:
        by_vh = {}
        for r in nonlinear:
            label = "linear" if r["v_half_volt"] is None else f"V_h {r['v_half_volt']:g} V"
            by_vh.setdefault(label, []).append((r["v_read"], r["accuracy_analog"],
                                                [e["rms_rel"] for e in r["layers"]]))
        figs += plots.save(plots.nonlinear_study(by_vh), out / "nonlinear_study")
    for study in dict.fromkeys(r["study"] for r in rows):
        if study in ("wire", "nonlinear"):
            continue  # drawn above with their own axes
        own = [r for r in rows if r["study"] == study]
        figs += plots.save(plots.study_accuracy(study, [r["label"] for r in own],
                                                [100 * r["accuracy_analog"] for r in own],
                                                [100 * r["accuracy_ideal_quantized"] for r in own]),
                           out / f"study_{study}")
    figs += plots.save(plots.analog_vs_ideal(arrays["z_ideal"], arrays["z_analog"]), out / "analog_vs_ideal")
    if "energy" in base:
        e = base["energy"]
        figs += plots.save(plots.energy_breakdown(e["array_parts_j_per_image"], e["periphery_parts_j_per_image"],
                                                  "energy per image: array (exact) and periphery (models)"),
                           out / "energy_breakdown")
    return figs


