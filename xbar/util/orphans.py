"""Worker processes that die with their parent, also when the parent is killed with SIGKILL.

A pool's workers outlive a parent killed by ``kill -9``: nothing runs in the parent to
stop them. :func:`die_with_parent` runs first in each worker (a pool ``initializer``):
on Linux it asks the kernel to send SIGKILL when the parent dies (``PR_SET_PDEATHSIG``),
and on every system a daemon thread checks once a second that the parent is still the
process that started the worker, exiting at once when it is not (the fallback where
prctl is missing, and a guard for a parent that died before prctl ran).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

#: prctl option from <linux/prctl.h>: signal to deliver when the parent dies.
PR_SET_PDEATHSIG = 1

#: Seconds between the watchdog's checks of the parent.
WATCH_INTERVAL_S = 1.0


def die_with_parent(parent_pid: int) -> None:
    """Make this process exit when ``parent_pid`` (its parent) dies; call it first in a worker."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still covers it
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid,), name="xbar-parent-watch", daemon=True).start()


def _watch(parent_pid: int) -> None:
    """Exit the process as soon as its parent is no longer ``parent_pid`` (re-parented after its death)."""
    stop = threading.Event()
    while not stop.wait(WATCH_INTERVAL_S):
        if os.getppid() != parent_pid:
            os._exit(1)
