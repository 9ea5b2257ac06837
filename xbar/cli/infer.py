"""``xbar infer``: a network's test set on crossbar circuits, with optional studies."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from xbar.cli.argtypes import count, integer, positive, read_volt, ref_ohm, seed, series_ohm
from xbar.cli.common import (
    add_dataset_options,
    add_model_options,
    add_physics_options,
    add_t_read,
    add_timeout,
    folder_to_write,
    network_physics,
    options_from_args,
    spice_options,
)
from xbar.util.errors import ParameterError


def study_names(text: str) -> tuple[str, ...]:
    """``--study``'s value as study names (a name, a comma list or ``all``)."""
    from xbar.experiments.studies import parse_studies
    try:
        return parse_studies([text])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def mitigation_list(text: str) -> str:
    """``--mitigate``'s value as the canonical name of its mitigations (checked by ``Mitigation.parse``)."""
    from xbar.network.mitigation import Mitigation
    from xbar.util.errors import ParameterError
    try:
        return Mitigation.parse(text).name
    except (ParameterError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def tile_size(text: str) -> int | None:
    """``--tile``'s value: a positive integer, or None for ``none``/``untiled``."""
    if text.strip().lower() in ("none", "untiled"):
        return None
    try:
        return count(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a positive integer or 'none', got {text!r}") from None


def add_infer(sub) -> None:
    """Register ``xbar infer``."""
    from xbar.experiments.studies import EXTRA_STUDIES, STUDIES
    every = {**STUDIES, **{k: f"{v} (opt-in: not part of all)" for k, v in EXTRA_STUDIES.items()}}
    p = sub.add_parser("infer", help="run a trained network through parasitic-aware crossbars",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description=textwrap.fill(
                                   "Map a trained, quantized network onto compound SOT-MTJ crossbar tiles, "
                                   "run the test set through the circuits, and compare with ideal quantized "
                                   "inference. Prints the comparison table; writes report.md, results.json "
                                   "and figures. By default only the base configuration runs (seconds); add "
                                   "studies around it with --study.", 88),
                       epilog="studies (--study NAME, repeatable, or --study all):\n" + "\n".join(
                           f"  {name:<12} {what}" for name, what in every.items()))
    add_dataset_options(p)
    p.add_argument("--seed", type=seed, default=0, help="training and variation seed, 0..2^32-1 (default 0)")
    p.add_argument("--seeds", type=integer(1, 100), default=1, metavar="N",
                   help="rerun the base configuration for N seeds (--seed, --seed + 1, ...; a new network and a "
                        "new draw of the arrays each) and report each accuracy's mean and spread (default 1)")
    p.add_argument("--wire-ohm", type=series_ohm, default=1.0, help="row and column wire ohm per segment (default 1)")
    p.add_argument("--driver-ohm", type=series_ohm, default=0.0, help="row driver output resistance (ohm)")
    p.add_argument("--tile", type=tile_size, default=128, help="tile size in devices (rows = columns), or "
                   "'none' for untiled (default 128)")
    p.add_argument("--sense", choices=("tia", "resistor"), default="tia", help="sense mode (default tia)")
    p.add_argument("--ref-ohm", type=ref_ohm, default=1e6, help="reference resistor for --sense resistor (ohm)")
    p.add_argument("--model", metavar="FILE", help="your own trained network instead of the paper's MLP: ONNX "
                   "(MLPs and CNNs; PyTorch: torch.onnx.export) or .npz weights w0, b0, w1, b1, ...")
    p.add_argument("--v-read", type=read_volt, default=0.1, help="read voltage for a full input, volt (default 0.1)")
    p.add_argument("--scheme", choices=("differential", "reference"), default="differential",
                   help="weight mapping (default differential column pairs)")
    p.add_argument("--mitigate", type=mitigation_list, default="none", metavar="LIST",
                   help="choose the states against the arrays as they are: a comma list of compensate[=K] (exact "
                        "IR-drop compensation, K iterations, default 3), aware (each device's own levels, as "
                        "program-and-verify reads them), disconnect (switch off shorted devices and zero-weight "
                        "pairs), operating-point (non-linear junctions: levels at the read bias), all, none "
                        "(default); see --study mitigation")
    p.add_argument("--calibrate", type=integer(0), default=0, metavar="N",
                   help="fit a digital gain and offset per output on N training images (default 0: off)")
    p.add_argument("--backend", choices=("native", "ngspice", "pyspice"), default="native",
                   help="solver for the base run; ngspice/pyspice also report agreement with native "
                        "(about 0.3 s per image per tile with KLU: use with --limit)")
    p.add_argument("--spice-devices", choices=("full", "condensed"), default="full",
                   help="with --backend ngspice: each device as its subcircuit (full, default) or as its exact DC "
                        "equivalent (condensed: 1.8x faster on 128x128 tiles; ngspice then does not check the "
                        "channel's condensation)")
    add_timeout(p)
    p.add_argument("-w", "--workers", type=count, metavar="N",
                   help="solve each layer's tiles on N local processes (SPICE backends and --vh; default: "
                        "one after another in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="solve them on an existing Dask cluster instead, "
                   "e.g. tcp://host:8786 (workers need xbar, and ngspice for --backend ngspice)")
    p.add_argument("--task-timeout", type=positive, metavar="SECONDS",
                   help="limit of each tile's solve on the workers in seconds (default: none; ngspice runs "
                        "keep their own --timeout)")
    p.add_argument("--limit", type=count, help="use only the first N test images")
    add_t_read(p)
    p.add_argument("--study", type=study_names, action="append", default=[], metavar="NAME",
                   help="also run a study around the base run: repeatable, or 'all' for every one except "
                        "the opt-in ones (default: none). Studies: " + ", ".join(every) + " (listed below)")
    p.add_argument("--netlist-dir", help="also write every tile's ngspice netlist here")
    p.add_argument("--out", default="xbar-infer", help="output directory (default ./xbar-infer)")
    p.add_argument("--quiet", action="store_true", help="no progress bars and no plan or estimate lines")
    add_model_options(p)
    add_physics_options(p)
    p.set_defaults(func=run_infer)


def task_options(args) -> dict | None:
    """Where tile solves run, from --workers, --scheduler and --task-timeout (None: this process)."""
    if args.workers is None and args.scheduler is None:
        if args.task_timeout is not None:
            raise ParameterError("--task-timeout needs --workers or --scheduler (tile solves run as tasks only there)")
        return None
    if args.workers is not None and args.scheduler is not None:
        raise ParameterError("give --workers (local processes) or --scheduler (a Dask cluster), not both")
    return dict(workers=args.workers, scheduler=args.scheduler, timeout_s=args.task_timeout)


def run_infer(args) -> int:
    """Run ``xbar infer``; returns the exit status."""
    import os
    tasks = task_options(args)
    if args.spice_devices == "condensed" and args.backend != "ngspice":
        raise ParameterError("--spice-devices condensed is for --backend ngspice")
    if spice_options(args):
        os.environ["XBAR_NGSPICE_TIMEOUT"] = str(spice_options(args)["timeout_s"])
    from xbar.experiments.circuits import run_infer
    from xbar.experiments.studies import parse_studies
    from xbar.network.circuit_spec import CircuitSpec
    studies = parse_studies(",".join(s) for s in args.study)
    tile = args.tile
    spec = CircuitSpec(wire_ohm=args.wire_ohm, driver_ohm=args.driver_ohm, sense=args.sense, ref_ohm=args.ref_ohm,
                       variation_seed=args.seed, tile_rows=tile, tile_cols=tile, v_read=args.v_read,
                       adc_bits=args.adc_bits, scheme=args.scheme, calibration_images=args.calibrate,
                       mitigation=args.mitigate,
                       **options_from_args(args).spec_fields(), **network_physics(args))
    say = None if args.quiet else (lambda line: print(line, flush=True))
    folder_to_write(args.out, "--out")
    if args.netlist_dir:
        folder_to_write(args.netlist_dir, "--netlist-dir")
    result = run_infer(args.dataset, spec, args.out, studies=studies, seed=args.seed, n_test=args.limit,
                       data_dir=args.data_dir, backend=args.backend, netlist_dir=args.netlist_dir,
                       quiet=args.quiet, say=say, model_file=args.model, t_read_s=args.t_read, seeds=args.seeds,
                       tasks=tasks, spice_devices=args.spice_devices)
    base = result["base"]
    where = f"from {args.device}" if args.device else \
        f"R_P {spec.r_p_ohm:g} ohm, TMR {spec.tmr_percent:g} %" if spec.r_p_ohm else f"at {spec.thickness_nm:g} nm"
    print(f"{base['dataset']}: {base['n_test']} test images, {spec.n_cells}-cell devices {where}, "
          f"{args.wire_ohm:g} ohm wires, tile {tile or 'none'}, sense {args.sense}")
    print("| full precision | paper-method quantized | ideal quantized | analog | agreement |")
    print("|---|---|---|---|---|")
    print("| " + " | ".join("–" if base[k] is None else f"{100 * base[k]:.2f} %" for k in (
        "accuracy_full_precision", "accuracy_paper_quantized", "accuracy_ideal_quantized",
        "accuracy_analog", "top1_agreement")) + " |")
    for e in base["layers"]:
        print(f"layer {e['layer']}: output error: worst {e['worst_rel']:.3e} (of the largest ideal output), "
              f"RMS {e['rms_rel']:.3e} (of the RMS ideal output)")
    worst = max(base["ir_drop"], key=lambda s: s["worst_rel"])
    print(f"worst IR drop: {100 * worst['worst_rel']:.2f} % of V_read (layer {worst['layer']}, "
          f"tile {tuple(worst['tile'])})")
    rd = base["read_disturb"]
    print(f"read disturb: worst channel current density {1e-4 * rd['worst_j_a_per_m2']:.3g} A/cm^2 "
          f"({rd['j_over_jc0']:.2g} J_c0), P(switch) {rd['probability_per_read']:.2g} per read")
    if base.get("junction_solver"):
        from xbar.experiments.infer_report import junction_solver_line
        print(junction_solver_line(base["junction_solver"]))
    if base.get("spice"):
        from xbar.experiments.infer_report import spice_lines
        print(spice_lines(base["spice"])[0])
    e = base.get("energy")
    if e:
        settle = [layer["settling_s"] for layer in e["layers"] if "settling_s" in layer]
        print(f"energy per image: array {e['array_j_per_image'] * 1e12:.4g} pJ (exact), periphery "
              f"{e['periphery_j_per_image'] * 1e12:.4g} pJ (models); {e['fj_per_mac']:.4g} fJ/MAC, "
              f"{e['tops_per_w']:.4g} TOPS/W (array alone {e['array_fj_per_mac']:.4g} fJ/MAC); worst settling "
              f"{max(settle) * 1e9:.3g} ns" if settle else "")
    from xbar.experiments.infer_report import caveats, design_line, seed_lines
    if base.get("design"):
        print(design_line(base["design"]))
    for line in seed_lines(result.get("seeds"))[:1] + [f"note: {c}" for c in caveats(base)]:
        print(line)
    if not studies:
        print("studies: none run (add --study NAME or --study all; see xbar infer --help)")
    else:
        print_studies(result["studies"])
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def print_studies(rows: list[dict]) -> None:
    """The studies' accuracies as a table on the terminal (the report has every column)."""
    width = max(len(r["label"]) for r in rows)
    print(f"{'study':<12} {'point':<{width}}  ideal q.   analog  agreement  worst IR drop")
    for r in rows:
        print(f"{r['study']:<12} {r['label']:<{width}}  {100 * r['accuracy_ideal_quantized']:6.2f} %  "
              f"{100 * r['accuracy_analog']:6.2f} %  {100 * r['top1_agreement']:6.2f} %  "
              f"{100 * r['worst_ir_rel']:6.2f} % V_read")
    from xbar.experiments.infer_report import study_caveats
    for line in study_caveats(rows):
        print(f"note: {line}")
