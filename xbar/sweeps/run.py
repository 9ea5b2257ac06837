"""Running a sweep: the points not yet stored, on local processes or an existing Dask cluster.

Execution: a local pool of spawned processes (BLAS pinned to one thread per worker, dying
with the parent even under kill -9), or an existing ``dask.distributed`` cluster. Workers
only compute; the parent writes.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from xbar.util.errors import ParameterError, XbarError
from xbar.util.orphans import die_with_parent
from xbar.sweeps.registry import HEADER_TAG, _ONE_THREAD, experiment_target, run_point
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
        tasks = (_run_dask(target, todo, scheduler) if scheduler is not None
                 else _run_local(target, todo, workers))
        with closing(tasks), tqdm(total=len(sweep.points), initial=resumed, desc=grid.experiment,
                                  unit="pt", disable=quiet, file=sys.stderr, dynamic_ncols=True) as bar:
            for point, future in tasks:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise XbarError("a sweep worker process died; finished points are saved, "
                                    "rerun to resume") from None
                except Exception as exc:  # an experiment's failure is the point's, not the sweep's
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


@contextmanager
def _one_blas_thread():
    """Environment for spawned workers: one BLAS/OpenMP thread each, restored afterwards."""
    saved = {k: os.environ.get(k) for k in _ONE_THREAD}
    os.environ.update(_ONE_THREAD)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run_local(target: str, todo: list[Point], workers: int):
    """Yield (point, future) as points finish on ``workers`` spawned processes.

    At most two tasks per worker are queued, so an interrupt leaves little in flight.
    Workers die with this process, also when it is killed (:func:`xbar.util.orphans.die_with_parent`).
    """
    if not todo:
        return
    with _one_blas_thread():
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=die_with_parent, initargs=(os.getpid(),))
        try:
            queue = iter(todo)
            running = {}

            def refill():
                for point in itertools.islice(queue, 2 * workers - len(running)):
                    running[pool.submit(run_point, target, point.params)] = point

            refill()
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f].index):
                    yield running.pop(future), future
                refill()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(target: str, todo: list[Point], scheduler):
    """Yield (point, future) as points finish on a Dask cluster (address or Client)."""
    if not todo:
        return
    from dask.distributed import Client, as_completed

    if isinstance(scheduler, Client):
        client, own = scheduler, False
    else:
        if not isinstance(scheduler, str):
            raise ParameterError(f"scheduler must be an address like tcp://host:8786 or a Client, got {scheduler!r}")
        try:
            client, own = Client(scheduler, timeout="20s"), True
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise XbarError(f"cannot reach the Dask scheduler at {scheduler!r}: {_one_line(exc)}") from None
    futures = {}
    try:
        futures = {client.submit(run_point, target, p.params, key=f"xbar-sweep-{p.key}"): p
                   for p in todo}
        for future in as_completed(futures):
            yield futures.pop(future), future
            future.release()
    finally:
        for future in futures.values():
            future.cancel()
        if own:
            client.close()
