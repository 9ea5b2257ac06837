"""Scratch files and folders that never outlive the process that made them, and the removal of
those a killed process left behind ("litter").

Everything xbar leaves while it runs carries its owner's process id in its name and an
``flock`` held for its whole life: temporary folders ``xbar-<kind>-<pid>-<random>``
(:func:`scratch_dir`) and atomic-write temporaries ``.<name>.<pid>.<random>.part``
(:mod:`xbar.util.atomic`). A process ends normally -> it removes its own. A process killed
with SIGKILL runs no cleanup; the next run of the same kind removes such an entry only when
it is stale: its name is xbar's own, it belongs to this user, it is a real file or folder
(not a link), its owner process no longer exists, and its lock is free (the kernel drops a
dead process's locks, so a live owner in another PID namespace still protects its entry).
Folders of the older unnumbered form ``xbar-<kind>-<random>`` are removed once older than
:data:`LEGACY_AGE_S`. Nothing else is ever touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Iterator

#: Age after which an unnumbered ``xbar-<kind>-<random>`` folder (written by xbar before owner
#: process ids were recorded) counts as stale: far longer than any run xbar allows.
LEGACY_AGE_S = 24 * 3600.0

#: The random part of a :mod:`tempfile` name.
_RANDOM = r"[a-z0-9_]{8}"


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists (also one of another user's)."""
    if pid <= 0:
        return True  # not a real owner: never treat as dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _lock_free(path: str, directory: bool) -> bool:
    """True when nobody holds an flock on ``path`` (tested by taking it for a moment)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | (os.O_DIRECTORY if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _owned(st: os.stat_result, directory: bool) -> bool:
    kind = stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)
    return kind and st.st_uid == os.getuid()


def is_stale(path: str, pid: int, directory: bool) -> bool:
    """True when ``path`` (named for owner ``pid``) is this user's, not a link, its owner is gone and its lock free."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (_owned(st, directory) and pid != os.getpid() and not pid_alive(pid)
            and _lock_free(path, directory))


def remove_stale_dirs(kind: str, parent: str | None = None) -> list[str]:
    """Remove stale ``xbar-<kind>-<pid>-<random>`` folders (and old unnumbered ones) in ``parent``
    (default: the temporary folder); returns the paths removed."""
    parent = parent or tempfile.gettempdir()
    numbered = re.compile(rf"xbar-{re.escape(kind)}-(\d+)-{_RANDOM}")
    legacy = re.compile(rf"xbar-{re.escape(kind)}-{_RANDOM}")
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    removed = []
    for name in names:
        path = os.path.join(parent, name)
        m = numbered.fullmatch(name)
        if m:
            stale = is_stale(path, int(m.group(1)), directory=True)
        elif legacy.fullmatch(name):
            try:
                st = os.lstat(path)
            except OSError:
                continue
            stale = _owned(st, True) and time.time() - st.st_mtime > LEGACY_AGE_S and _lock_free(path, True)
        else:
            continue
        if stale:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def remove_stale_parts(folder: str | os.PathLike) -> list[str]:
    """Remove stale atomic-write temporaries ``.<name>.<pid>.<random>.part`` in ``folder``; returns them."""
    pattern = re.compile(rf"\..+\.(\d+)\.{_RANDOM}\.part")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for name in names:
        m = pattern.fullmatch(name)
        path = os.path.join(folder, name)
        if m and is_stale(path, int(m.group(1)), directory=False):
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed.append(path)
    return removed


def hold_lock(fd: int) -> None:
    """Take an exclusive flock on fresh entry ``fd`` for the descriptor's life (marks it as in use).

    Best effort: where the file system has no locks, the owner's process id still protects it.
    """
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


_SWEPT: set[tuple[str, str]] = set()
#: The characters of the random part of a scratch name (as :func:`tempfile.mkdtemp`'s, see :data:`_RANDOM`).
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_"


def random_part() -> str:
    """Eight random characters for a scratch or part file name (matching :data:`_RANDOM`)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


@contextlib.contextmanager
def scratch_dir(kind: str) -> Iterator[Path]:
    """A fresh folder ``xbar-<kind>-<pid>-<random>`` in the temporary folder, locked while in use and
    removed on the way out (error, SystemExit or KeyboardInterrupt included); the first use per
    process and temporary folder first removes the stale ones of the same kind."""
    parent = tempfile.gettempdir()
    if (kind, parent) not in _SWEPT:
        _SWEPT.add((kind, parent))
        remove_stale_dirs(kind, parent)
    # Named before it is made, inside the block that removes it: a stop (SIGINT or SIGTERM turned into an
    # exception) at any point leaves nothing. A folder of that name can only be an earlier process's
    # with this pid, i.e. stale: it is removed too.
    path = os.path.join(parent, f"xbar-{kind}-{os.getpid()}-{random_part()}")
    fd = None
    try:
        os.mkdir(path, 0o700)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        hold_lock(fd)
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)
        if fd is not None:
            os.close(fd)
