"""``xbar sweep``: an experiment over a parameter grid, resumable and parallel."""

from __future__ import annotations

import os
import sys

from xbar.cli.argtypes import count
from xbar.util.errors import XbarError
from xbar.cli.common import MODEL_GROUPS, add_model_options, given_options

#: Table names an experiment may spell its own way (older grids and results keys keep their names).
ALIASES = {"n_cells": ("n_cells", "cells"), "variation_scale": ("correlated_scale",)}


def add_sweep(sub) -> None:
    """Register ``xbar sweep``."""
    p = sub.add_parser("sweep", help="run an experiment over a parameter grid: resumable, parallel, Dask",
                       description="Run every point of a grid over an experiment's parameters and append "
                                   "one JSON line per finished point to the results file. A rerun with the "
                                   "same results file skips finished points, also after a kill. Axes come "
                                   "from a TOML grid (experiment = NAME, [params], optional [figure]) and/or "
                                   "--param; the whole grid is checked before anything runs.")
    p.add_argument("grid", nargs="?", help="grid TOML file, or the name of a shipped grid (see --list)")
    p.add_argument("-e", "--experiment", help="experiment name, or module:function with --allow-import "
                                              "(replaces the grid's)")
    p.add_argument("--allow-import", action="append", default=[], metavar="MODULE",
                   help="allow module:function experiments from MODULE (exact name; repeatable). Without "
                        "it only registered experiments run, whatever a grid file names")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUES",
                   help="an axis, name=1,2,3 or inclusive name=start:stop:step; replaces the grid's "
                        "(repeatable)")
    p.add_argument("-o", "--results", help="results file, JSON lines (default <grid>.jsonl or "
                                           "sweep-<experiment>.jsonl)")
    p.add_argument("-w", "--workers", type=count, default=os.cpu_count() or 1,
                   help="local worker processes (default: one per CPU)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster instead, "
                                                          "e.g. tcp://10.0.0.1:8786")
    p.add_argument("--quiet", action="store_true", help="no progress bar, only the summary line")
    p.add_argument("--csv", metavar="OUT", help="write the finished records as CSV, in grid order")
    p.add_argument("--figure", metavar="STEM", help="draw the grid's [figure] from the results as "
                                                    "STEM[-panel].png/.svg")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--status", metavar="FILE", help="print points done and remaining in FILE, then exit")
    mode.add_argument("--export", metavar="FILE", help="write FILE's records as CSV (to --csv OUT, else "
                                                       "stdout) and/or its --figure, then exit")
    mode.add_argument("--list", action="store_true", help="list the experiments and shipped grids, then exit")
    mode.add_argument("--describe", metavar="EXPERIMENT", help="list EXPERIMENT's parameters with their defaults "
                                                               "and units, then exit")
    add_model_options(p)
    p.description += (" The device, variation, fault and periphery options set that parameter for every point, "
                      "like -p NAME=VALUE, for an experiment that takes it (refused otherwise); --device is "
                      "keyed by the file's content.")
    p.set_defaults(func=run_sweep)


def model_axes(args, experiment: str, allow_import=()) -> dict:
    """One-value axes from the device, variation, fault and periphery options the experiment takes."""
    import inspect

    from xbar.sweeps.registry import experiment_function
    from xbar.util.errors import ParameterError
    from xbar.util.ranges import param
    given = {k: v for g in MODEL_GROUPS for k, v in given_options(args, g).items()}
    if args.variation == "typical":
        given["variation_scale"] = given.get("variation_scale", 1.0)
    elif args.variation == "none" or "variation_scale" in given:
        given.pop("variation_scale", None)
        if args.variation != "none":
            raise ParameterError("--variation-scale on a sweep goes with --variation typical")
    if not given and not args.device:
        return {}
    takes = set(inspect.signature(experiment_function(experiment, allow_import)).parameters)
    axes = {}
    for name, value in given.items():
        spelled = next((a for a in ALIASES.get(name, (name,)) if a in takes), None)
        if spelled is None:
            flag = "--variation typical" if name == "variation_scale" else param(name).cli_flag
            raise ParameterError(f"{flag}: experiment {experiment!r} has no parameter {name!r}; "
                                 f"it takes {', '.join(sorted(takes))}")
        axes[spelled] = [value]
    if args.device:
        from xbar.device.files import file_sha256, load_device
        if "device_file" not in takes:
            raise ParameterError(f"--device: experiment {experiment!r} takes no device_file")
        load_device(args.device)  # checked before anything is written
        axes.update(device_file=[str(args.device)], device_sha256=[file_sha256(args.device)])
    return axes


def run_sweep(args) -> int:
    """Run ``xbar sweep``; returns the exit status."""
    import re
    from contextlib import nullcontext
    from pathlib import Path

    from xbar import sweeps as sweep
    from xbar.util.errors import ParameterError
    if args.list:
        print("experiments: " + ", ".join(f"{k} ({v})" for k, v in sweep.EXPERIMENTS.items()))
        print("grids: " + ", ".join(sweep.shipped_grids()))
        return 0
    if args.describe:
        from xbar.sweeps.registry import describe_experiment
        print("\n".join(describe_experiment(args.describe)))
        return 0
    if args.status:
        s = sweep.sweep_status(args.status)
        print(f"{s.path}: {s.experiment}, {s.done} of {s.total} points done, {s.remaining} remaining")
        return 0
    if args.export:
        grid, results = sweep.grid_of(args.export), args.export
    else:
        if not (args.grid or args.experiment):
            raise ParameterError("give a grid file or name, or --experiment with --param axes")
        grid = sweep.load_grid(args.grid) if args.grid else sweep.Grid(args.experiment, {})
        axes = dict(sweep.parse_param(t) for t in args.param)
        axes.update(model_axes(args, args.experiment or grid.experiment, args.allow_import))
        grid = sweep.with_axes(grid, axes, args.experiment)
    if args.figure and not grid.figure:
        raise ParameterError(f"--figure needs a [figure] table in the grid of experiment {grid.experiment!r}")
    if not args.export:
        plan = sweep.plan(grid, allow_import=args.allow_import)
        if args.figure:
            from xbar.sweeps.figures import check
            check(grid.figure, plan.grid.axes)
        name = Path(args.grid).stem if args.grid else "sweep-" + re.sub(r"\W+", "_", grid.experiment)
        results = args.results or f"{name}.jsonl"
        s = sweep.run_sweep(plan, results, workers=args.workers, scheduler=args.scheduler, quiet=args.quiet)
        print(f"{grid.experiment}: {s.total} points, {s.resumed} already done, {s.finished} finished now, "
              f"{len(s.failures)} failed -> {results}")
    records = sweep.load_records(results)
    if not args.export and not args.quiet:
        print("\n".join(summary_lines(grid, records)))
    if args.csv or (args.export and not args.figure):
        from xbar.util.atomic import atomic_open
        with atomic_open(args.csv, "w", newline="") if args.csv else nullcontext(sys.stdout) as out:
            sweep.write_csv(records, out)
    if args.figure:
        from xbar.analysis.plots import save
        from xbar.sweeps.figures import draw
        figures = draw(records, grid.figure)
        for panel, fig in figures.items():
            save(fig, Path(args.figure if len(figures) == 1 else f"{args.figure}-{panel}"))
    if not args.export and s.failures:
        point, message = s.failures[0]
        where = {k: point.params[k] for k in grid.axes}
        raise XbarError(f"{len(s.failures)} of {s.total} points failed, e.g. {where}: {message}; "
                        "finished points are saved and a rerun retries the failed ones")
    return 0


#: Result fields a sweep's closing summary shows, in order of preference (at most three).
SUMMARY_FIELDS = ("accuracy_analog", "accuracy_ideal_quantized", "accuracy", "top1_agreement", "rms_rel",
                  "worst_rel", "rms_rel_mean", "worst_rel_mean", "worst_ir_rel")


def summary_lines(grid, records: list[dict], limit: int = 20) -> list[str]:
    """A short table of what a sweep computed: the varied axes and up to three headline results per point."""
    from xbar.sweeps.field_labels import axis
    from xbar.sweeps.store import flat_rows
    rows = flat_rows(records) if records else []
    if not rows:
        return ["summary: no finished points"]
    varied = [k for k, v in grid.axes.items() if len(v) > 1] or list(grid.axes)[:1]
    shown = [f for f in SUMMARY_FIELDS if f in rows[0]][:3]
    cells = [[str(r.get(k, "")) for k in varied]
             + [f"{axis(f)[1] * r[f]:.4g}" if isinstance(r.get(f), (int, float)) else "" for f in shown]
             for r in rows[:limit]]
    head = varied + [axis(f)[0] for f in shown]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    out = ["summary:", "  " + "  ".join(h.ljust(w) for h, w in zip(head, widths))]
    out += [("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths))).rstrip() for row in cells]
    if len(rows) > limit:
        out.append(f"  ... {len(rows) - limit} more points (--csv OUT writes them all)")
    return out
