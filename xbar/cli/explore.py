"""``xbar explore``: the design space of the paper's MLP on circuits, and its Pareto front."""

from __future__ import annotations

import argparse
import sys


def add_explore(sub) -> None:
    """Register ``xbar explore`` and its options."""
    from xbar.experiments.explore import DEFAULT_AXES, OBJECTIVES
    p = sub.add_parser("explore", help="design-space exploration: Pareto fronts of accuracy, energy, latency, "
                                       "area, write energy and yield",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Evaluate designs of the paper's MLP on circuits over the knobs a designer "
                                   "turns (the default grid: " + ", ".join(
                                       f"{k} {'/'.join(map(str, v))}" for k, v in DEFAULT_AXES.items())
                                   + f"; {_count(DEFAULT_AXES)} designs), on the sweep engine (resumable, local "
                                   "processes or Dask), then print the Pareto front and draw it.",
                       epilog="objectives: " + ", ".join(f"{k} ({v[2]}, {'max' if v[1] else 'min'})"
                                                         for k, v in OBJECTIVES.items()))
    p.add_argument("grid", nargs="?", help="a grid TOML file of the 'design' experiment restricting the knobs")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUES",
                   help="set or replace one knob's values (repeatable), e.g. tile=64,128 or v_read=0.05:0.2:0.05")
    p.add_argument("--dataset", choices=("digits", "mnist", "fashion"), default="mnist",
                   help="dataset (default mnist; digits needs nothing downloaded)")
    p.add_argument("--data-dir", help="folder of the IDX datasets (default $XBAR_DATA_DIR or the cache)")
    p.add_argument("--n-test", type=_positive, default=2000, help="test images per design (default 2000)")
    p.add_argument("--objectives", default=",".join(OBJECTIVES), type=_objectives,
                   help="comma list of the front's objectives (default all)")
    p.add_argument("--no-program", action="store_true", help="skip programming each design (no write energy "
                                                             "or yield objectives)")
    p.add_argument("--workers", type=_positive, default=1, help="local worker processes (default 1)")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler (instead of local workers)")
    p.add_argument("--out", default="xbar-explore", help="output folder (default ./xbar-explore): results.jsonl "
                                                         "(resumable), front.md, front.csv, pareto.png/.svg")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_explore)


def _count(axes: dict) -> int:
    n = 1
    for v in axes.values():
        n *= len(v)
    return n


def _positive(text: str) -> int:
    from xbar.cli.argtypes import count
    return count(text)


def _objectives(text: str) -> tuple[str, ...]:
    from xbar.experiments.explore import OBJECTIVES
    names = tuple(filter(None, (t.strip() for t in text.split(","))))
    bad = [n for n in names if n not in OBJECTIVES]
    if bad or len(names) < 2:
        raise argparse.ArgumentTypeError(f"objectives must be at least two of {', '.join(OBJECTIVES)}, got {text!r}")
    return names


def run_explore(args) -> int:
    """Run the grid of designs (resumable), then print, save and draw its Pareto front."""
    from pathlib import Path

    from xbar import sweeps as sweep
    from xbar.analysis import plots
    from xbar.cli.common import folder_to_write
    from xbar.experiments import explore
    from xbar.sweeps.store import flat_rows
    from xbar.util.atomic import atomic_open, write_text
    from xbar.util.errors import ParameterError
    objectives = args.objectives
    if args.no_program:
        objectives = tuple(o for o in objectives if o not in ("write_energy", "yield"))
        if len(objectives) < 2:
            raise ParameterError("--no-program leaves fewer than two objectives")
    grid = sweep.load_grid(args.grid) if args.grid else sweep.Grid("design", dict(explore.DEFAULT_AXES))
    if grid.experiment != "design":
        raise ParameterError(f"{args.grid}: xbar explore runs the 'design' experiment, not {grid.experiment!r}")
    axes = {**(grid.axes if args.grid else explore.DEFAULT_AXES), **dict(sweep.parse_param(t) for t in args.param)}
    axes.update(dataset=(args.dataset,), n_test=(args.n_test,), program=(not args.no_program,))
    if args.data_dir:
        axes["data_dir"] = (args.data_dir,)
    plan = sweep.plan(sweep.Grid("design", axes))
    out = Path(folder_to_write(args.out, "--out"))
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    s = sweep.run_sweep(plan, results, workers=args.workers, scheduler=args.scheduler, quiet=args.quiet)
    print(f"explore: {s.total} designs, {s.resumed} already done, {s.finished} finished now, "
          f"{len(s.failures)} failed -> {results}")
    rows = [r for r in flat_rows(sweep.load_records(results)) if r.get("accuracy_analog") is not None]
    rows = [r for r in rows if all(r.get(explore.OBJECTIVES[o][0]) is not None for o in objectives)]
    if not rows:
        raise ParameterError("no finished design has every objective; nothing to put on a front")
    on = explore.front(rows, objectives)
    knobs = [k for k, v in axes.items() if len(v) > 1]
    table = explore.front_table(rows, on, knobs, objectives)
    print(f"Pareto front: {int(on.sum())} of {len(rows)} designs ({', '.join(objectives)})")
    print("\n".join(table))
    paper = explore.paper_design_index(rows)
    if paper is not None:
        r = rows[paper]
        print(f"the paper's design ({', '.join(f'{k} {r[k]}' for k in explore.PAPER_DESIGN)}, tile {r['tile']}): "
              f"{100 * r['accuracy_analog']:.2f} %, {1e12 * r['energy_j_per_image']:.4g} pJ, "
              f"{'on' if on[paper] else 'off'} the front")
    write_text(out / "front.md", "\n".join(table) + "\n")
    with atomic_open(out / "front.csv", "w", newline="") as f:
        sweep.write_csv([rec for rec, keep in zip(sweep.load_records(results), on) if keep], f)
    plots.save(plots.pareto([1e12 * r["energy_j_per_image"] for r in rows], [100 * r["accuracy_analog"] for r in rows],
                            [1e6 * r["area_m2"] for r in rows], on, paper,
                            f"{args.dataset}: {len(rows)} designs; front over {len(objectives)} objectives ({', '.join(objectives)})"),
               out / "pareto")
    print(f"front: {out / 'front.md'}, figure: {out / 'pareto.png'}")
    if s.failures:
        point, message = s.failures[0]
        print(f"xbar: warning: {len(s.failures)} designs failed, e.g. {point.params}: {message}", file=sys.stderr)
    return 0
