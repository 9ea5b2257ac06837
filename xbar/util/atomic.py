"""Atomic file writes: a temporary file in the target's folder, then a rename.

A run killed mid-write leaves either the old file or the new one, never half of
one; every output, cache, report, netlist and figure xbar writes goes through here.
New files get the mode the user's umask gives (0644 under umask 022), an existing
file keeps its mode. Temporary files are named ``.<name>.<pid>.<random>.part`` and locked
while written; those left by a process killed mid-write (SIGKILL runs no cleanup) are
removed by the next write into the same folder once their process is gone
(:func:`xbar.util.litter.remove_stale_parts`: xbar's names only, stale ones only).
"""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from xbar.util.litter import hold_lock, random_part, remove_stale_parts


def current_umask() -> int:
    """This process's umask, read without changing it where Linux allows (/proc), else set and restored."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **kwargs) -> Iterator[IO]:
    """Open a temporary file for writing; on a clean exit it replaces ``path``, on an error it is removed.

    ``mode`` is a write mode ("wb", "w"); ``kwargs`` go to :func:`open` (``newline``,
    ``encoding``). The data is flushed to disk before the rename.
    """
    if "r" in mode or "a" in mode or "+" in mode:
        raise ValueError(f"atomic_open writes whole files; mode {mode!r} is not a write mode")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(path.parent)
    # Named before it is made, inside the block that removes it (see litter.scratch_dir).
    tmp = path.parent / f".{path.name}.{os.getpid()}.{random_part()}.part"
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        hold_lock(fd)
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "w") as f:
        f.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)
