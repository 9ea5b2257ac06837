"""Independent tasks on local processes or an existing Dask cluster, with per-task timeouts.

:func:`run_tasks` runs ``function(*args)`` for each entry of a list and yields
``(index, future)`` as each finishes (in whatever order they finish); ``future.result()``
returns the value or raises the task's own exception, :class:`TaskTimeout` or
:class:`WorkerLost`. Sweeps (:mod:`xbar.sweeps.run`) and the per-tile work of networks
(:mod:`xbar.network.analog`) both run through it.

Local processes are spawned, with BLAS pinned to one thread each, and die with the
parent even under ``kill -9`` (:func:`xbar.util.orphans.die_with_parent`). Every worker is up,
with the tasks' module imported, before the first task; at most one task per worker is in
flight, so a task's clock starts when a worker takes it. A task past
its timeout has its worker killed; the other tasks in flight are resubmitted to fresh
workers (not counted against them). A worker that dies (out of memory, killed) loses
nothing: the tasks it may have held go to fresh workers, up to ``retries`` times each.

On Dask the cluster reschedules the tasks of a worker that dies (``allowed-failures``);
a task's clock starts when the scheduler hands it to a worker, and a task past its
timeout is cancelled and reported; Python cannot stop its thread, so work that must
stop (an ngspice run) carries its own timeout as well.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from xbar.util.errors import ParameterError, XbarError
from xbar.util.orphans import die_with_parent

#: Environment that pins BLAS/OpenMP pools to one thread in each local worker.
ONE_THREAD = {name: "1" for name in (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "XBAR_THREADS")}
#: Seconds between checks of running tasks' deadlines.
POLL_S = 0.2


class TaskTimeout(XbarError):
    """A task ran past its timeout and was stopped."""


class WorkerLost(XbarError):
    """Every worker that ran a task died before it finished (``retries`` + 1 times)."""


def run_tasks(function: Callable, args: Sequence[tuple], *, workers: int = 1, scheduler=None,
              timeout_s: float | None = None, retries: int = 2, names: Sequence[str] | None = None
              ) -> Iterator[tuple[int, Future]]:
    """Yield ``(index, future)`` as the tasks ``function(*args[index])`` finish.

    ``workers`` local processes, or ``scheduler``: a Dask scheduler address or a
    ``distributed.Client``. ``timeout_s``: seconds one task may run (None: no limit).
    ``names``: unique task names (Dask keys); default ``xbar-task-<index>``.
    ``function`` must be importable by name (module level) for the workers. Read each future
    as it comes: a Dask future needs the client, which closes with the generator.
    """
    timeout_s = check_task_timeout(timeout_s)
    if not isinstance(retries, int) or retries < 0:
        raise ParameterError(f"retries must be an integer >= 0, got {retries!r}")
    if scheduler is not None:
        names = list(names) if names is not None else [f"xbar-task-{i}" for i in range(len(args))]
        return _run_dask(function, args, names, scheduler, timeout_s)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ParameterError(f"workers must be an integer >= 1, got {workers!r}")
    return _run_local(function, args, workers, timeout_s, retries)


def check_task_timeout(timeout_s) -> float | None:
    """``timeout_s`` as seconds > 0, or None for no limit; else ParameterError."""
    if timeout_s is None:
        return None
    try:
        value = float(timeout_s)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(timeout_s, bool) or not value > 0 or value == float("inf"):
        raise ParameterError(f"a task timeout must be a number of seconds > 0, got {timeout_s!r}")
    return value


@contextmanager
def one_blas_thread():
    """Environment for spawned workers: one BLAS/OpenMP thread each, restored afterwards."""
    saved = {k: os.environ.get(k) for k in ONE_THREAD}
    os.environ.update(ONE_THREAD)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _failed(exc: BaseException) -> Future:
    future = Future()
    future.set_exception(exc)
    return future


def _ready(module: str) -> int:
    """A worker's pid once it has imported the tasks' module (start-up is not a task's time)."""
    importlib.import_module(module)
    time.sleep(0.01)
    return os.getpid()


class _Pool:
    """A spawned process pool that can be killed outright (a stuck task) and started again."""

    def __init__(self, workers: int, module: str):
        self.workers = workers
        self.module = module
        self._pool = None

    def start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            with one_blas_thread():
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=die_with_parent, initargs=(os.getpid(),))
                # Every worker up, the tasks' module imported, before any deadline runs.
                up: set[int] = set()
                try:
                    while len(up) < self.workers:
                        up |= {f.result() for f in [self._pool.submit(_ready, self.module)
                                                    for _ in range(self.workers)]}
                except (BrokenProcessPool, ImportError) as exc:
                    self.kill()
                    raise XbarError(f"local worker processes could not start ({type(exc).__name__}: {exc})") from None
        return self._pool

    def kill(self) -> None:
        """Kill every worker now (the pool's processes; the executor has no per-task cancel)."""
        if self._pool is None:
            return
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _run_local(function, args, workers: int, timeout_s: float | None, retries: int):
    if not len(args):
        return
    pool = _Pool(workers, function.__module__)
    queue = iter(range(len(args)))
    attempts = [0] * len(args)
    again: list[int] = []  # tasks to resubmit first (their worker was killed or died)
    running: dict[Future, tuple[int, float]] = {}

    def refill():
        executor = pool.start()
        while len(running) < workers:
            index = again.pop(0) if again else next(queue, None)
            if index is None:
                return
            running[executor.submit(function, *args[index])] = (index, time.monotonic())

    try:
        refill()
        while running:
            done, _ = wait(running, timeout=POLL_S if timeout_s else None, return_when=FIRST_COMPLETED)
            suspects = []  # tasks in flight when a worker died: any of them may have killed it
            for future in sorted(done, key=lambda f: running[f][0]):
                if isinstance(future.exception(), BrokenProcessPool):
                    suspects.append(running.pop(future)[0])
                else:
                    yield running.pop(future)[0], future
            now = time.monotonic()
            late = sorted(i for i, start in running.values() if timeout_s is not None and now - start > timeout_s)
            if suspects or late:
                others = sorted(i for i, _ in running.values() if i not in late)
                if suspects:
                    suspects, others = sorted(suspects + others), []
                pool.kill()
                running.clear()
                for index in late:
                    yield index, _failed(TaskTimeout(f"task {index} ran past its {timeout_s:g} s timeout"))
                for index in suspects:
                    attempts[index] += 1
                    if attempts[index] > retries:
                        yield index, _failed(WorkerLost(f"task {index}: its worker process died "
                                                        f"{attempts[index]} times"))
                    else:
                        again.append(index)
                again.extend(others)  # innocent bystanders of a timeout: resubmitted, not counted
                again.sort()
            refill()
    finally:
        if running:
            pool.kill()
        else:
            pool.close()


def dask_client(scheduler):
    """(a Dask client for ``scheduler``, whether this call opened it): connect before anything is written or
    shown, so an unreachable scheduler is one error line (the caller closes a client it opened)."""
    return _client(scheduler)


def _client(scheduler):
    from dask.distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    if not isinstance(scheduler, str):
        raise ParameterError(f"scheduler must be an address like tcp://host:8786 or a Client, got {scheduler!r}")
    try:
        return Client(scheduler, timeout="20s"), True
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        text = str(exc).strip().splitlines()
        raise XbarError(f"cannot reach the Dask scheduler at {scheduler!r}: "
                        f"{type(exc).__name__}: {text[0] if text else ''}") from None


def _run_dask(function, args, names, scheduler, timeout_s: float | None):
    if not len(args):
        return
    from dask.distributed import wait as dask_wait

    client, own = _client(scheduler)
    futures = {}
    try:
        futures = {client.submit(function, *a, key=name, pure=False): i for i, (a, name) in enumerate(zip(args, names))}
        started: dict[str, float] = {}
        while futures:
            try:
                done, _ = dask_wait(list(futures), timeout=None if timeout_s is None else POLL_S,
                                    return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            for future in sorted(done, key=lambda f: futures[f]):
                yield futures.pop(future), future
                future.release()
            if timeout_s is None:
                continue
            now = time.monotonic()
            for keys in client.processing().values():
                for key in keys:
                    started.setdefault(key, now)
            for future in [f for f in futures if now - started.get(f.key, now) > timeout_s]:
                index = futures.pop(future)
                future.cancel()
                yield index, _failed(TaskTimeout(f"task {index} ({future.key}) ran past its {timeout_s:g} s "
                                                 "timeout"))
    finally:
        for future in futures:
            future.cancel()
        if own:
            client.close()


def gather(function: Callable, args: Sequence[tuple], what: Callable[[int], str] = str, **options) -> list:
    """The results of :func:`run_tasks` in task order; the first failure is an XbarError naming its task."""
    out: list = [None] * len(args)
    tasks = run_tasks(function, args, **options)
    try:
        for index, future in tasks:
            try:
                out[index] = future.result()
            except XbarError as exc:
                raise type(exc)(f"{what(index)}: {exc}") from None
            except Exception as exc:  # a worker's exception arrives as is: name it in one line
                text = str(exc).strip().splitlines()
                raise XbarError(f"{what(index)}: {type(exc).__name__}: {text[0] if text else ''}") from None
    finally:
        tasks.close()
    return out

