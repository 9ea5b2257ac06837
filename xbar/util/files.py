"""One bounded reader for every file xbar reads: device and grid TOML, models, input and state
arrays, caches, ngspice raw files, datasets.

Before a byte is read, :func:`check_file` refuses what is not a regular file (a folder,
/dev/zero or another device, a FIFO, a socket; symbolic links are followed, so a link to
/dev/zero is refused too) and a file larger than its kind's limit in :data:`LIMITS`.
:func:`open_file` then opens it without blocking (a FIFO swapped in after the check cannot
hang xbar), checks the opened descriptor again, and :func:`read_bytes` never reads more
than the limit. Parse failures of any kind -- TOML or JSON nested deeply enough to exhaust
Python's recursion (RecursionError), a zero-size or truncated model or archive, bad UTF-8 --
become one :class:`~xbar.util.errors.ParameterError` (or the ``error`` class a caller
names) that names the kind, the file and the problem, through :func:`parsing`.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tomllib
import zipfile
from typing import IO, Iterator

from xbar.util.errors import ParameterError, XbarError

MiB = 1 << 20
GiB = 1 << 30

#: Largest file of each kind, in bytes (documented in docs/files.md). A file over its limit is
#: refused before anything is read. TOML files are hand-written tables of a few kilobytes;
#: ONNX stops at 2 GiB (protobuf); arrays and caches are further bounded by the memory check
#: of :mod:`xbar.util.resources`; the largest dataset file (MNIST training images) is 9.9 MB
#: compressed and 47 MB decompressed.
LIMITS = {
    "device file": 1 * MiB,
    "grid file": 1 * MiB,
    "model": 2 * GiB,
    "input file": 4 * GiB,
    "cache entry": 4 * GiB,
    "ngspice raw file": 16 * GiB,
    "dataset file": 256 * MiB,
    "results file": 1 * GiB,
}


def limit(kind: str) -> int:
    """The size limit of ``kind`` in bytes (a KeyError names a kind without one: a programming error)."""
    return LIMITS[kind]


def _refuse(kind: str, path, problem: str, error: type[XbarError]) -> XbarError:
    return error(f"{kind} {os.fspath(path)}: {problem}")


def _size_text(n: int) -> str:
    return f"{n / GiB:.3g} GiB" if n >= GiB else f"{n / MiB:.3g} MiB" if n >= MiB else f"{n:,} bytes"


def _check_stat(st: os.stat_result, path, kind: str, error) -> int:
    if stat.S_ISDIR(st.st_mode):
        raise _refuse(kind, path, "is a folder, where a file is needed", error)
    if not stat.S_ISREG(st.st_mode):
        what = ("a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a plain file")
        raise _refuse(kind, path, f"is {what}, not a regular file; xbar reads only regular files", error)
    if st.st_size > LIMITS[kind]:
        raise _refuse(kind, path, f"{_size_text(st.st_size)} is too large for a {kind} (at most "
                                  f"{_size_text(LIMITS[kind])})", error)
    return st.st_size


def check_file(path, kind: str, error: type[XbarError] = ParameterError) -> int:
    """Size in bytes of the regular file ``path`` of ``kind``; refuses anything else before reading."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _refuse(kind, path, "cannot read it (no such file)", error) from None
    except OSError as exc:
        raise _refuse(kind, path, f"cannot read it ({exc.strerror or exc})", error) from None
    return _check_stat(st, path, kind, error)


@contextlib.contextmanager
def open_file(path, kind: str, error: type[XbarError] = ParameterError) -> Iterator[IO[bytes]]:
    """The checked regular file ``path`` opened for binary reading (never blocks on a FIFO)."""
    check_file(path, kind, error)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _refuse(kind, path, f"cannot read it ({exc.strerror or exc})", error) from None
    try:
        _check_stat(os.fstat(fd), path, kind, error)  # the file opened is the file checked
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        yield f


def read_bytes(path, kind: str, error: type[XbarError] = ParameterError) -> bytes:
    """The bytes of ``path``, at most ``LIMITS[kind]`` of them (a file that grew past it is refused)."""
    with open_file(path, kind, error) as f:
        data = f.read(LIMITS[kind] + 1)
    if len(data) > LIMITS[kind]:
        raise _refuse(kind, path, f"grew past the {_size_text(LIMITS[kind])} limit for a {kind} while read",
                      error)
    return data


def read_text(path, kind: str, error: type[XbarError] = ParameterError) -> str:
    """The UTF-8 text of ``path`` (bounded as :func:`read_bytes`)."""
    data = read_bytes(path, kind, error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(kind, path, f"not UTF-8 text (byte {exc.start})", error) from None


def read_toml(path, kind: str, error: type[XbarError] = ParameterError) -> dict:
    """The parsed TOML of ``path``: bad syntax and nesting too deep for Python both refused in one line."""
    text = read_text(path, kind, error)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _refuse(kind, path, f"not valid TOML ({str(exc).splitlines()[0]})", error) from None
    except RecursionError:
        raise _refuse(kind, path, "tables or arrays nested too deeply to read", error) from None


def read_json(path, kind: str, error: type[XbarError] = ParameterError):
    """The parsed JSON of ``path``, refused in one line when malformed or nested too deeply."""
    text = read_text(path, kind, error)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _refuse(kind, path, f"not valid JSON ({exc.msg} at line {exc.lineno})", error) from None
    except RecursionError:
        raise _refuse(kind, path, "objects or arrays nested too deeply to read", error) from None


#: What third-party readers (numpy, zipfile, onnx, gzip) raise on a damaged file.
PARSE_ERRORS = (ValueError, EOFError, KeyError, IndexError, TypeError, AttributeError, OSError, RecursionError,
                UnicodeDecodeError, zipfile.BadZipFile, OverflowError)


@contextlib.contextmanager
def parsing(path, kind: str, what: str | None = None, error: type[XbarError] = ParameterError):
    """Turn any parse failure inside into one ``error`` naming the file: ``{kind} {path}: not {what} (...)``
    (``what`` default: "a readable {kind}").

    xbar's own errors pass through unchanged.
    """
    try:
        yield
    except XbarError:
        raise
    except PARSE_ERRORS as exc:
        detail = "nested too deeply" if isinstance(exc, RecursionError) else \
            (str(exc).splitlines() or [type(exc).__name__])[0][:200] or type(exc).__name__
        raise _refuse(kind, path, f"not {what or 'a readable ' + kind} ({detail})", error) from None


def read_npz(path, kind: str, what: str = "a readable .npz archive", error: type[XbarError] = ParameterError) -> dict:
    """The arrays of the ``.npz`` file ``path`` (no pickles), name -> array.

    The members' declared sizes are checked against the memory (:mod:`xbar.util.resources`)
    before it is decompressed, so a small archive cannot expand past what fits.
    """
    import numpy as np

    from xbar.util.resources import check_memory

    with open_file(path, kind, error) as fh, parsing(path, kind, what, error):
        if check_file(path, kind, error) == 0:
            raise _refuse(kind, path, "the file is empty (0 bytes)", error)
        f = np.load(fh, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise _refuse(kind, path, f"not {what} (a single array, not an archive)", error)
        with f:
            # zipfile never reads a member past its declared size, so this bounds what loading allocates.
            total = sum(info.file_size for info in f.zip.infolist())
            check_memory(f"reading {kind} {os.fspath(path)}", total)
            return {name: f[name] for name in f.files}
