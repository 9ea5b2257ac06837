"""Analog inference experiments: one network on circuits against ideal quantized inference, and studies.

:func:`compare` runs a test set through an :class:`~xbar.inference.AnalogNetwork`
and returns a JSON-ready record; :func:`inference_point` is the same as a pure
function of plain parameters, for sweeps; :func:`run_infer` runs the studies of
``xbar infer`` and writes the Markdown report and figures.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import plots
from ..atomic import write_text
from ..datasets import Dataset, load
from ..faults import FAULT_KINDS
from ..inference import AnalogNetwork, CircuitSpec
from ..errors import ParameterError
from ..models import Conv, Model, from_network, load_model
from ..network import Network, accuracy, default_cache_dir, trained
from ..quantize import paper_levels, quantize_network

#: Wire resistances per segment (ohm) of the wire-resistance study.
WIRE_OHMS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)
#: The studies ``xbar infer`` knows; each varies one parameter around the base spec.
STUDIES = ("wire", "calibration", "tile", "sense", "cells", "thickness", "adc", "variation")
#: Opt-in studies, run only when named (``--study faults``): not part of ``all``.
EXTRA_STUDIES = ("faults", "correlated")
#: Fault rates (fraction of cells, split evenly over stuck-P, stuck-AP, open, short) of the faults study.
FAULT_RATES = (0.0, 0.005, 0.01, 0.02, 0.05)
#: Multiples of the typical correlated spreads (:meth:`xbar.devices.Variation.typical`) of that study.
CORRELATED_SCALES = (0.0, 1.0, 2.0, 4.0)


#: Test images per chunk for networks with convolutions (their im2col rows are many).
CONV_CHUNK = 1000


def input_scales(model: Model, x: np.ndarray) -> np.ndarray:
    """Per matrix layer, the largest |input| of the full-precision model on ``x`` (at least 1): the
    activation driven at V_read. Inputs within [0, 1] (pixels, sigmoid outputs) keep 1."""
    peaks = []

    def record(l: int, a: np.ndarray) -> np.ndarray:
        peaks.append(float(np.abs(a).max()) if a.size else 1.0)
        w, b = model.matrix_layers()[l]
        return a @ w + b

    model.forward(x, record)
    return np.maximum(np.array(peaks), 1.0)


def compare(network: Network | Model, data: Dataset, spec: CircuitSpec, backend: str = "native",
            n_test: int | None = None, ir_samples: int = 16, cache_dir=None, details: bool = False) -> dict:
    """Accuracy, agreement, per-layer error and IR drop of ``network`` on circuits built from ``spec``.

    ``network``: the paper's MLP or an imported :class:`~xbar.models.Model` (then
    each layer's input scale comes from 256 training images, see :func:`input_scales`,
    and there is no paper-method column). Uses the first ``n_test`` test images
    (all when None), in chunks for convolutional models. With
    ``spec.calibration_images`` > 0 the analog outputs are first calibrated
    (:meth:`AnalogNetwork.calibrate`) on that many training images. With
    ``details`` the record also holds arrays for figures under ``"arrays"``
    (not JSON-ready).
    """
    x, y = data.x_test[:n_test], data.y_test[:n_test]
    imported = isinstance(network, Model)
    model = network if imported else from_network(network)
    check_model_input(model, data)
    scales = input_scales(model, data.x_train[:256]) if imported else None
    analog_net = AnalogNetwork(network, spec, cache_dir=cache_dir, input_scales=scales)
    if spec.calibration_images:
        analog_net.calibrate(data.x_train[:spec.calibration_images], backend)
    chunk = CONV_CHUNK if any(isinstance(op, Conv) for op in model.ops) else max(len(x), 1)
    pred_a, pred_i, pred_f, last_a, last_i = [], [], [], [], []
    sums = None
    first = None
    for k in range(0, len(x), chunk):
        xc = x[k:k + chunk]
        out_a, out_i, layers = analog_net.run(xc, backend, keep_inputs=ir_samples if k == 0 else 0)
        first = layers if k == 0 else first
        pred_a.append(out_a.argmax(1))
        pred_i.append(out_i.argmax(1))
        pred_f.append(model.predict(xc))
        last_a.append(layers[-1].z_analog)
        last_i.append(layers[-1].z_ideal)
        stats = [(float(((r.z_analog - r.z_ideal) ** 2).sum()), float((r.z_ideal ** 2).sum()), r.z_ideal.size,
                  float(np.abs(r.z_analog - r.z_ideal).max()), float(np.abs(r.z_ideal).max())) for r in layers]
        sums = stats if sums is None else [(a[0] + b[0], a[1] + b[1], a[2] + b[2], max(a[3], b[3]), max(a[4], b[4]))
                                           for a, b in zip(sums, stats)]
    pred_a, pred_i, pred_f = map(np.concatenate, (pred_a, pred_i, pred_f))
    paper = None
    if not imported:
        paper = accuracy(quantize_network(network, paper_levels(analog_net.device), rule=spec.rule).network, x, y)
    record = dict(
        dataset=data.name, n_test=len(x), spec=dataclasses.asdict(spec), backend=backend,
        model=model.name,
        accuracy_full_precision=float(np.mean(pred_f == y)),
        accuracy_paper_quantized=paper,
        accuracy_ideal_quantized=float(np.mean(pred_i == y)),
        accuracy_analog=float(np.mean(pred_a == y)),
        top1_agreement=float(np.mean(pred_a == pred_i)),
        layers=[], ir_drop=[],
    )
    maps = []
    for l, (res, (se, si, n, worst, peak)) in enumerate(zip(first, sums)):
        record["layers"].append(dict(layer=l, rms_rel=float(np.sqrt((se / n) / (si / n))),
                                     worst_rel=float(worst / peak)))
        for st in analog_net.ir_drop(l, res.inputs):
            maps.append(st.pop("map_rel"))
            record["ir_drop"].append(dict(st, tile=list(st["tile"])))
    if details:
        record["arrays"] = dict(ir_map=maps[0], z_ideal=np.concatenate(last_i), z_analog=np.concatenate(last_a))
    return record


def check_model_input(model: Model, data: Dataset) -> None:
    """A ParameterError unless ``model`` takes the dataset's images (same number of values per image)."""
    if model.n_features != data.n_features:
        raise ParameterError(f"{model.name} takes inputs of shape {list(model.input_shape)} "
                             f"({model.n_features} values), but {data.name} images have {data.n_features} values")


def inference_point(dataset: str = "digits", seed: int = 0, cells: int = 3, thickness_nm: float = 1.9,
                    wire_ohm: float = 1.0, tile: int | None = 128, sense: str = "tia", ref_ohm: float = 1e6,
                    sigma: float = 0.0, variation_seed: int = 0, v_read: float = 0.1, adc_bits: int | None = None,
                    scheme: str = "differential", calibration_images: int = 0, n_test: int | None = None,
                    hidden: int = 128, epochs: int = 40, data_dir=None, fault_rate: float = 0.0,
                    correlated_scale: float = 0.0, device_file: str | None = None,
                    device_sha256: str | None = None) -> dict:
    """One analog-inference point from plain parameters (a sweep task); returns a JSON-ready record.

    ``fault_rate``: fraction of faulty cells; ``correlated_scale``: multiple of the
    typical correlated RA/TMR spreads (:meth:`xbar.devices.Variation.typical`).
    ``device_file`` replaces the library device (``cells``, ``thickness_nm``);
    ``device_sha256``, when given, must be that file's hash, so a sweep's point
    keys follow the file's content and an edited file is refused, not mixed in.
    """
    from ..devices import Variation
    if device_sha256 is not None:
        from ..device_file import file_sha256
        from ..errors import ParameterError
        if device_file is None or file_sha256(device_file) != device_sha256:
            raise ParameterError(f"device file {device_file} changed since the sweep started (sha256 differs)")
    typical = Variation.typical()
    spec = CircuitSpec(n_cells=cells, thickness_nm=thickness_nm, wire_ohm=wire_ohm, sense=sense, ref_ohm=ref_ohm,
                       sigma=sigma, variation_seed=variation_seed, tile_rows=tile, tile_cols=tile, v_read=v_read,
                       adc_bits=adc_bits, scheme=scheme, calibration_images=calibration_images,
                       fault_rate=fault_rate, device_ra_sigma=correlated_scale * typical.device_ra_sigma,
                       cell_ra_sigma=correlated_scale * typical.cell_ra_sigma,
                       device_tmr_sigma=correlated_scale * typical.device_tmr_sigma,
                       cell_tmr_sigma=correlated_scale * typical.cell_tmr_sigma, device_file=device_file)
    net = trained(dataset, seed=seed, hidden=hidden, epochs=epochs, data_dir=data_dir)
    rec = compare(net, load(dataset, data_dir), spec, n_test=n_test,
                  cache_dir=default_cache_dir())
    return {k: v for k, v in rec.items() if k != "spec"}


def study_specs(base: CircuitSpec, studies=STUDIES) -> list[tuple[str, str, CircuitSpec]]:
    """(study, label, spec) for each point of the studies, varying one parameter of ``base`` at a time."""
    rep = dataclasses.replace
    points = []
    if "wire" in studies:
        points += [("wire", f"{c} cells, {w:g} ohm", rep(base, n_cells=c, wire_ohm=w))
                   for c in (1, 2, 3) for w in WIRE_OHMS]
    if "tile" in studies:
        points += [("tile", "untiled" if t is None else f"{t}x{t}", rep(base, tile_rows=t, tile_cols=t))
                   for t in (32, 64, 128, 256, None)]
    if "sense" in studies:
        points += [("sense", "TIA (virtual ground)", rep(base, sense="tia"))]
        points += [("sense", f"resistor {r:g} ohm", rep(base, sense="resistor", ref_ohm=r))
                   for r in (100.0, 1e3, 1e4, 1e6)]
    if base.device_file is not None:  # the file fixes the device: no cell-count or thickness axes
        studies = [s for s in studies if s not in ("cells", "thickness")]
        points += [("wire", f"{base.n_cells} cells, {w:g} ohm", rep(base, wire_ohm=w))
                   for w in WIRE_OHMS if "wire" in studies]
        studies = [s for s in studies if s != "wire"]
    if "cells" in studies:
        points += [("cells", f"{c} cells", rep(base, n_cells=c)) for c in (1, 2, 3, 4, 5, 6)]
    if "thickness" in studies:
        points += [("thickness", f"{t:.1f} nm", rep(base, thickness_nm=t)) for t in (1.6, 1.9, 2.2, 2.6)]
    if "calibration" in studies:
        points += [("calibration", f"3 cells, {w:g} ohm, calibrated on 256 images",
                    rep(base, n_cells=3, wire_ohm=w, calibration_images=256)) for w in WIRE_OHMS]
    if "adc" in studies:
        points += [("adc", f"{b}-bit ADC", rep(base, adc_bits=b)) for b in (4, 6, 8, 10, 12)]
    if "variation" in studies:
        points += [("variation", f"sigma {s:g}", rep(base, sigma=s)) for s in (0.0, 0.02, 0.05, 0.1, 0.2)]
    if "faults" in studies:
        points += [("faults", f"{100 * r:g} % faulty cells (all kinds)", rep(base, fault_rate=r))
                   for r in FAULT_RATES]
        points += [("faults", f"1 % {k.replace('_', '-')} cells", rep(base, fault_rate=0.01, fault_kind=k))
                   for k in FAULT_KINDS]
    if "correlated" in studies:
        from ..devices import (TYPICAL_CELL_RA_SIGMA, TYPICAL_CELL_TMR_SIGMA, TYPICAL_DEVICE_RA_SIGMA,
                               TYPICAL_DEVICE_TMR_SIGMA)
        points += [("correlated", f"{k:g} x typical RA/TMR spread",
                    rep(base, sigma=0.0, device_ra_sigma=k * TYPICAL_DEVICE_RA_SIGMA,
                        cell_ra_sigma=k * TYPICAL_CELL_RA_SIGMA, device_tmr_sigma=k * TYPICAL_DEVICE_TMR_SIGMA,
                        cell_tmr_sigma=k * TYPICAL_CELL_TMR_SIGMA)) for k in CORRELATED_SCALES]
    return points


def run_infer(dataset: str, base: CircuitSpec, out_dir, studies=STUDIES, seed: int = 0,
              n_test: int | None = None, data_dir=None, backend: str = "native", netlist_dir=None,
              quiet: bool = False, model_file=None) -> dict:
    """Run the base spec and the studies; write ``report.md``, ``results.json`` and figures to ``out_dir``.

    ``model_file`` (.onnx or .npz, see :mod:`xbar.models`) replaces the paper's MLP
    trained by xbar; it is read and checked against the dataset before anything is written.
    """
    out = Path(out_dir)
    data = load(dataset, data_dir)
    if model_file is not None:
        net = load_model(model_file)
        check_model_input(net, data)
    else:
        net = trained(dataset, seed=seed, data_dir=data_dir, progress=not quiet)
    out.mkdir(parents=True, exist_ok=True)
    cache = default_cache_dir()
    base_rec = compare(net, data, base, backend=backend, n_test=n_test, cache_dir=cache, details=True)
    arrays = base_rec.pop("arrays")
    if netlist_dir:
        scales = input_scales(net, data.x_train[:256]) if model_file is not None else None
        write_tile_netlists(AnalogNetwork(net, base, input_scales=scales), data.x_test[:1], netlist_dir)
    rows = []
    for study, label, spec in tqdm(study_specs(base, studies), desc="studies", disable=quiet):
        rec = compare(net, data, spec, n_test=n_test, cache_dir=cache)
        rows.append(dict(study=study, label=label, **{k: rec[k] for k in _SUMMARY}, layers=rec["layers"],
                         worst_ir_rel=max(s["worst_rel"] for s in rec["ir_drop"]),
                         mean_ir_rel=float(np.mean([s["mean_rel"] for s in rec["ir_drop"]])),
                         cells=spec.n_cells, wire_ohm=spec.wire_ohm))
    figures = _figures(out, base_rec, arrays, rows)
    result = dict(base=base_rec, studies=rows, figures=[str(p.name) for p in figures])
    write_text(out / "results.json", json.dumps(result, indent=1))
    write_text(out / "report.md", report_markdown(base_rec, rows, figures))
    return result


_SUMMARY = ("accuracy_full_precision", "accuracy_paper_quantized", "accuracy_ideal_quantized",
            "accuracy_analog", "top1_agreement")


def write_tile_netlists(analog_net: AnalogNetwork, x: np.ndarray, directory) -> list[Path]:
    """Write every tile's netlist, its sources set by the first input of ``x``, as ``layer<l>_tile<r>_<c>.cir``.

    A convolution's tiles are driven by its first im2col patch of that input.
    """
    from ..netlist import write_netlist
    paths = []

    def write(l: int, a: np.ndarray) -> np.ndarray:
        v = analog_net.row_voltages(a[:1], l)
        for tile in analog_net.tiles[l]:
            name = f"layer{l}_tile{tile.index[0]}_{tile.index[1]}"
            paths.append(write_netlist(analog_net.circuit(tile), Path(directory) / f"{name}.cir",
                                       inputs=v[0, tile.rows[0]:tile.rows[1]], title=f"xbar {name}"))
        return analog_net.pre_activation(l, a)

    analog_net.model.forward(x[:1], write)
    return paths


def _figures(out: Path, base: dict, arrays: dict, rows: list[dict]) -> list[Path]:
    figs = []
    tile = base["ir_drop"][0]
    figs += plots.save(plots.ir_drop_heatmap(arrays["ir_map"], f"layer 0 tile {tuple(tile['tile'])}: "
                                             "mean voltage lost before each cell"), out / "ir_drop_heatmap")
    wire = [r for r in rows if r["study"] == "wire"]
    if wire:
        by_cells = {c: [(r["wire_ohm"], r["accuracy_analog"], r["accuracy_ideal_quantized"]) for r in wire
                        if r["cells"] == c] for c in sorted({r["cells"] for r in wire})}
        figs += plots.save(plots.accuracy_vs_wire(by_cells), out / "accuracy_vs_wire")
    figs += plots.save(plots.analog_vs_ideal(arrays["z_ideal"], arrays["z_analog"]), out / "analog_vs_ideal")
    return figs


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.2f}"


def report_markdown(base: dict, rows: list[dict], figures: list[Path]) -> str:
    """The comparison report: base configuration, per-layer errors, IR drop by tile, and the studies."""
    spec = base["spec"]
    lines = [
        f"# xbar analog inference: {base['dataset']}",
        "",
        f"Network: {base['model']}. "
        f"{base['n_test']} test images through compound SOT-MTJ crossbars, solved exactly "
        f"({base['backend']}), against ideal quantized inference on the same conductances.",
        "",
        "## Base configuration",
        "",
        "| parameter | value |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in spec.items()],
        "",
        "## Accuracy (%)",
        "",
        "| full precision | paper-method quantized | ideal quantized | analog | top-1 agreement analog vs ideal |",
        "|---|---|---|---|---|",
        f"| {_pct(base['accuracy_full_precision'])} | {_pct(base['accuracy_paper_quantized'])} "
        f"| {_pct(base['accuracy_ideal_quantized'])} | {_pct(base['accuracy_analog'])} | {_pct(base['top1_agreement'])} |",
        "",
        "The paper-method column quantizes to the paper's +/-G_k/G_max levels and is context only; the",
        "ideal-quantized column holds exactly the conductances of the arrays (differential pairs), so",
        "analog vs ideal isolates the circuit's effect.",
        "",
        "## Per-layer output error (analog vs ideal on the same inputs)",
        "",
        "| layer | RMS relative | worst relative (to max output) |", "|---|---|---|",
        *[f"| {e['layer']} | {e['rms_rel']:.3e} | {e['worst_rel']:.3e} |" for e in base["layers"]],
        "",
        "## IR drop by tile (voltage lost before each MTJ cell, first test inputs)",
        "",
        f"Loss = |V_row - V_cell| over every cell; percentages are of V_read = {spec['v_read']:g} V.",
        "",
        "| layer | tile | worst (mV) | mean (mV) | worst (% of V_read) | mean (% of V_read) |",
        "|---|---|---|---|---|---|",
        *[f"| {s['layer']} | {tuple(s['tile'])} | {1e3 * s['worst_v']:.3f} | {1e3 * s['mean_v']:.3f} "
          f"| {100 * s['worst_rel']:.2f} | {100 * s['mean_rel']:.2f} |" for s in base["ir_drop"]],
    ]
    if rows:
        lines += ["", "## Studies (one parameter varied from the base)", "",
                  "| study | point | ideal quantized (%) | analog (%) | agreement (%) | layer RMS rel. err. "
                  "| worst IR drop (% V_read) | mean IR drop (% V_read) |", "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            rms = ", ".join(f"{e['rms_rel']:.2e}" for e in r["layers"])
            lines.append(f"| {r['study']} | {r['label']} | {_pct(r['accuracy_ideal_quantized'])} "
                         f"| {_pct(r['accuracy_analog'])} | {_pct(r['top1_agreement'])} | {rms} "
                         f"| {100 * r['worst_ir_rel']:.2f} | {100 * r['mean_ir_rel']:.2f} |")
        above = [r for r in rows if r["accuracy_analog"] > r["accuracy_ideal_quantized"]]
        if above:
            lines += ["", "Where the analog accuracy exceeds the ideal quantized one, the analog outputs differ "
                      "from the ideal ones by a smooth, mostly common-mode attenuation; on a finite test set "
                      "this shifts a few borderline decisions either way. The top-1 agreement column shows how "
                      f"many decisions moved. Points: {', '.join(r['label'] for r in above)}."]
    lines += ["", "## Figures", "", *[f"![{p.stem}]({p.name})" for p in figures if p.suffix == ".png"]]
    return "\n".join(lines) + "\n"
