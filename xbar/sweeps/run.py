"""Running a sweep: the points not yet stored, on local processes or an existing Dask cluster.

Execution: :func:`xbar.util.tasks.run_tasks`, on a local pool of spawned processes (BLAS
pinned to one thread per worker, dying with the parent even under kill -9; a point whose
worker dies goes to a fresh one) or an existing ``dask.distributed`` cluster. Workers only
compute; the parent writes.
"""

from __future__ import annotations

import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from xbar.util.errors import ParameterError, XbarError
from xbar.util.tasks import dask_client, run_tasks
from xbar.sweeps.registry import HEADER_TAG, experiment_target, run_point
from xbar.sweeps.grid import Point, Sweep
from xbar.sweeps.store import open_sweep_store


@dataclass(frozen=True)
class RunSummary:
    """What a run did: grid size, points found done, points finished now, failures (point, message)."""

    total: int
    resumed: int
    finished: int
    failures: tuple[tuple[Point, str], ...] = ()


def run_sweep(sweep: Sweep, path: str | Path, *, workers: int = 1, scheduler=None,
              quiet: bool = False) -> RunSummary:
    """Run the points of ``sweep`` not yet in results file ``path``; append each as it finishes.

    ``workers`` local processes, or ``scheduler``: a Dask scheduler address or a
    ``distributed.Client``. A point whose experiment raises is reported in the
    summary's failures and not stored, so a rerun retries it.
    """
    if scheduler is None and (not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"workers must be an integer >= 1, got {workers!r}")
    path = Path(path)
    # Reach the cluster first: an unreachable scheduler is one error line, before any file or progress bar.
    client, own = dask_client(scheduler) if scheduler is not None else (None, False)
    try:
        return _run(sweep, path, workers, client, quiet)
    finally:
        if own:
            client.close()


def _run(sweep: Sweep, path: Path, workers: int, client, quiet: bool) -> RunSummary:
    grid = sweep.grid
    header = {HEADER_TAG: 1, "experiment": grid.experiment, "axes": {k: list(v) for k, v in grid.axes.items()},
              "figure": grid.figure, "keys": sweep.keys}
    with open_sweep_store(path) as results:
        headers, records = results.read()
        if headers:
            _check_same_grid(headers[-1], sweep, path)
        results.ensure_header(header)
        todo = [p for p in sweep.points if p.key not in records]
        resumed = len(sweep.points) - len(todo)
        failures = []
        target = sweep.target or experiment_target(grid.experiment)
        tasks = run_tasks(run_point, [(target, p.params) for p in todo], workers=workers, scheduler=client,
                          names=[f"xbar-sweep-{p.key}" for p in todo])
        with closing(tasks), tqdm(total=len(sweep.points), initial=resumed, desc=grid.experiment,
                                  unit="pt", disable=quiet, file=sys.stderr, dynamic_ncols=True) as bar:
            for index, future in tasks:
                point = todo[index]
                try:
                    result = future.result()
                except Exception as exc:  # an experiment's failure (or its worker's death) is the point's
                    failures.append((point, _one_line(exc)))
                else:
                    results.append({"key": point.key, "params": point.params, "result": result})
                bar.update()
    return RunSummary(len(sweep.points), resumed, len(todo) - len(failures), tuple(failures))


def _check_same_grid(previous: dict, sweep: Sweep, path) -> None:
    """Refuse a grid that would hide results already in ``path``: another experiment, or fewer points.

    A grid may extend the stored one (more values, its points all kept) or redraw its
    figure; a different grid needs its own results file.
    """
    if previous["experiment"] != sweep.grid.experiment:
        raise ParameterError(f"results file {str(path)!r} holds a sweep of experiment "
                             f"{previous['experiment']!r}, not {sweep.grid.experiment!r}; "
                             "write this grid to another file (-o)")
    missing = len(set(previous["keys"]) - set(sweep.keys))
    if missing:
        raise ParameterError(f"results file {str(path)!r} holds a different grid: {missing} of its "
                             f"{len(previous['keys'])} points are not in this one; write this grid to "
                             "another file (-o), or extend the stored grid instead")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    return message if isinstance(exc, XbarError) else f"{type(exc).__name__}: {message}"
