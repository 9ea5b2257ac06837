"""Child processes bounded in time and never left behind: one process group per child, killed whole.

:func:`run_group` starts a program in its own session (so its process group is its own and
holds every child it forks), waits at most ``timeout_s`` for it, and kills the whole group
with SIGKILL however the wait ends: timeout, an error, SIGTERM or SIGINT turned into
exceptions by :func:`terminate_as_exit`, or a normal exit that left background children.
On Linux the child also gets SIGKILL when xbar itself is killed (``PR_SET_PDEATHSIG``);
that covers the child, not children it forks, which then hold nothing of xbar's but their
own folder (see :mod:`xbar.util.litter`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading

#: prctl option from <linux/prctl.h>: the signal a child gets when its parent dies.
_PR_SET_PDEATHSIG = 1


class _Stop:
    """SIGTERM and SIGINT as exceptions, held back while a child process is being started."""

    spawning = False
    pending: list[int] = []

    @classmethod
    def handler(cls, signum, frame):
        if cls.spawning:
            cls.pending.append(signum)
            return
        cls.fire(signum)

    @staticmethod
    def fire(signum):
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)


@contextlib.contextmanager
def terminate_as_exit():
    """Turn SIGTERM into SystemExit(143) (and SIGINT into KeyboardInterrupt) while inside, so that
    ``finally`` blocks run: children are killed, temporary folders removed. A signal that arrives
    while a child is being started waits until the child exists. Outside the main thread (where
    Python cannot install handlers) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _Stop.handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _death_signal():
    """A ``preexec_fn`` that asks Linux to SIGKILL the child when this process dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def arm():
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl ran
            os._exit(1)

    return arm


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc``'s process group (it leads it), then reap ``proc`` and close its pipes."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def run_group(argv: list[str], cwd, timeout_s: float) -> tuple[int, bytes]:
    """Run ``argv`` in ``cwd`` in its own process group; returns (exit status, stdout + stderr).

    Raises :class:`subprocess.TimeoutExpired` after ``timeout_s`` seconds. The group is
    killed however this returns, so nothing the program started outlives the call.
    """
    with terminate_as_exit():
        _Stop.spawning, _Stop.pending = True, []
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_death_signal())
        finally:
            _Stop.spawning = False
        try:
            if _Stop.pending:
                _Stop.fire(_Stop.pending[0])
            stdout, stderr = proc.communicate(timeout=timeout_s)
        finally:
            kill_group(proc)
    return proc.returncode, stdout + stderr
