"""``xbar program``: program a mapped network through the SOT write path and evaluate it as programmed."""

from __future__ import annotations

import argparse

from xbar.cli.argtypes import count, finite, nonnegative, seed, series_ohm, within
from xbar.cli.common import (add_dataset_options, add_model_options, add_physics_options, folder_to_write,
                             network_physics, options_from_args)

#: What ``program`` studies when --cells / --thickness are not given.
DEFAULT_CELLS = (3,)
DEFAULT_THICKNESSES_NM = (1.6, 1.9, 2.2, 2.6)


def cell_vc_ratio(text: str) -> float | None:
    """``--cell-vc-ratio``'s value: a number in 1..2, or None for ``plain``."""
    if text.strip().lower() in ("none", "plain"):
        return None
    try:
        return within(1.0, 2.0)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a number in 1..2 or 'plain', got {text!r}") from None


def add_program(sub) -> None:
    """Register ``xbar program``."""
    p = sub.add_parser("program", help="program a mapped network with program-and-verify, then evaluate it",
                       description="Map a trained network onto compound SOT-MTJ tiles as `xbar infer` does, "
                                   "program every device from all-AP with SOT pulses (program-and-verify: "
                                   "rising pulses below breakdown, a read after each, overshoot undone), "
                                   "and report yield, stuck and broken devices, write energy and time, and "
                                   "the test accuracy as programmed beside the intended one. Several "
                                   "thicknesses or cell counts make a study; finished points are kept in "
                                   "OUT/results.jsonl, so a rerun resumes.")
    add_dataset_options(p)
    p.add_argument("--seed", type=seed, default=0, help="training and programming seed, 0..2^32-1 (default 0)")
    p.add_argument("--field", type=finite, default=6.0, help="assisting field in mT (default 6, the paper's -6 mT)")
    p.add_argument("--cell-vc-ratio", type=cell_vc_ratio, default=1.25,
                   help="voltage a 3-cell device needs to switch fully over a 1-cell one, 1..2 (default 1.25, "
                        "fitted to the paper's 20-30 %%), or 'plain': equal critical current per cell (~2.1x)")
    p.add_argument("--wire-ohm", type=series_ohm, default=1.0, help="row and column wire ohm per segment (default 1)")
    p.add_argument("--tile", type=count, default=128, help="tile size in devices (default 128)")
    p.add_argument("--max-pulses", type=count, default=400, help="pulse budget per device (default 400)")
    p.add_argument("--ceiling-margin", type=nonnegative, default=0.1,
                   help="ramp ceiling: this many volts below the mean breakdown voltage (default 0.1)")
    p.add_argument("--limit", type=count, help="evaluate on the first N test images only")
    p.add_argument("--out", default="xbar-program", help="output directory (default ./xbar-program)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_model_options(p, lists=("n_cells", "thickness_nm"))
    p.add_argument("--study", choices=("temperature",), action="append", default=[],
                   help="temperature: every point at -40, 0, 27, 85 and 125 C (writes and reads)")
    add_physics_options(p)
    p.set_defaults(func=run_program)


def run_program(args) -> int:
    """Run ``xbar program``; returns the exit status."""
    import dataclasses

    from xbar.experiments.programming import run_program
    from xbar.network.circuit_spec import CircuitSpec
    from xbar.programming.verify import ProgramParams
    from xbar.device.switching import SwitchingParams, check_thickness, critical_current
    opts = options_from_args(args)
    fields = opts.spec_fields()
    cells = fields.pop("n_cells", DEFAULT_CELLS)
    thicknesses = [check_thickness(t) for t in fields.pop("thickness_nm", DEFAULT_THICKNESSES_NM)]
    from xbar.experiments.studies import TEMPERATURES_C
    physics = network_physics(args)
    switching = SwitchingParams(field_mt=args.field, multi_cell_vc_ratio=args.cell_vc_ratio,
                                temperature_c=27.0 if args.temp is None else args.temp)
    for t in thicknesses:
        critical_current(switching, t)
    spec = CircuitSpec(wire_ohm=args.wire_ohm, tile_rows=args.tile, tile_cols=args.tile, variation_seed=args.seed,
                       adc_bits=args.adc_bits, **fields, **physics)
    temperatures = TEMPERATURES_C if "temperature" in args.study else (None,)
    for c in cells:
        dataclasses.replace(spec, n_cells=c)
    params = ProgramParams(max_pulses=args.max_pulses, ceiling_margin_v=args.ceiling_margin)
    folder_to_write(args.out, "--out")
    records = run_program(args.dataset, spec, args.out, thicknesses, cells, switching, params, seed=args.seed,
                          n_test=args.limit, data_dir=args.data_dir, quiet=args.quiet, temperatures=temperatures)
    print(f"{args.dataset}: {records[0]['n_test']} test images, field {args.field:g} mT")
    print("| cells | t (nm) | T (C) | yield | stuck | broken | energy (uJ) | time (ms) | intended | programmed | "
          "shorts isolated |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        print(f"| {r['cells']} | {r['thickness_nm']:.1f} | {r.get('temperature_c', 27.0):g} "
              f"| {100 * r['yield_fraction']:.2f} % | {r['stuck']} | "
              f"{r['broken']} | {r['energy_j'] * 1e6:.2f} | {r['time_s'] * 1e3:.2f} | "
              f"{100 * r['accuracy_intended']:.2f} % | {100 * r['accuracy_programmed']:.2f} % | "
              f"{100 * r['accuracy_without_shorts']:.2f} % |")
    print(f"report: {args.out}/report.md")
    return 0
