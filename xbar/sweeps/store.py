"""A sweep's results store.

Results store: append-only JSON lines, written by the parent process only, one
``write()`` of one line per finished point followed by ``fsync``. The first line of a
run is a header holding the grid and its point keys, so ``--status`` knows the total.
Chosen over SQLite because a line is self-describing, appendable from any tool,
readable while a sweep runs, and needs no schema for arbitrary records; with a single
writer, SQLite's transactions buy nothing here. A kill can tear at most the last line:
loading ignores a final line without its newline and any line that does not parse, and
de-duplicates by key; the next run truncates the torn tail before appending. A file is
appended to, repaired or read only when it starts with xbar's header, so an unrelated file
named as the output is refused untouched, and a hand-edited header is an error, not skipped.
A rerun with an extended grid (all stored points kept) appends a new header and reuses every
record; another experiment, or a grid that would hide stored points, needs its own file. Records are
keyed, and every view of them (status, CSV, figures) follows the grid's order, so results
never depend on the order in which points finish.

"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from xbar.util.errors import ParameterError, XbarError
from xbar.sweeps.registry import HEADER_TAG
from xbar.sweeps.grid import Grid


@dataclass(frozen=True)
class Status:
    """How far the sweep in a results file has got."""

    path: str
    experiment: str
    total: int
    done: int

    @property
    def remaining(self) -> int:
        """Points not yet in the results file."""
        return self.total - self.done


def read_store(path: str | Path) -> tuple[dict | None, dict[str, dict]]:
    """The latest grid header of a results file and its records by key.

    The file must be xbar's own: it starts with a header line (:func:`is_results_file`).
    A final line without its newline (a write torn by a kill) and record lines that do
    not parse are ignored; a key seen twice keeps its first record. A header line that
    does not parse or lacks its fields (hand-edited) is an error, not skipped.
    """
    header, records = None, {}
    with open(path, "rb") as f:
        _check_magic(f.read(len(_MAGIC)), path)
        f.seek(0)
        for number, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                break
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError):  # RecursionError: JSON nested too deeply
                if line.startswith(_MAGIC):
                    raise ParameterError(f"{str(path)!r} line {number}: sweep header is not valid JSON "
                                         "(hand-edited?); restore it or start a new results file") from None
                continue
            if not isinstance(entry, dict):
                continue
            if HEADER_TAG in entry:
                header = _check_header(entry, path, number)
            elif isinstance(entry.get("key"), str) and isinstance(entry.get("params"), dict) \
                    and isinstance(entry.get("result"), dict):
                records.setdefault(entry["key"], entry)
    return header, records


#: How every results file starts: the first header line, written by :func:`_append`.
_MAGIC = b'{"' + HEADER_TAG.encode() + b'":'


def _check_magic(head: bytes, path) -> None:
    if head and head != _MAGIC:
        raise ParameterError(f"{str(path)!r} is not an xbar sweep results file (it does not start with an "
                             f"{HEADER_TAG} header); refusing to read or change it, choose another -o file")


def is_results_file(path: str | Path) -> bool:
    """True when ``path`` is an empty file or starts like an xbar results file (checked before any write)."""
    with open(path, "rb") as f:
        head = f.read(len(_MAGIC))
    return not head or head == _MAGIC


def _check_header(entry: dict, path, number: int) -> dict:
    """``entry`` if it is a well-formed header (version 1), else a one-line ParameterError."""
    problems = []
    if entry.get(HEADER_TAG) != 1:
        problems.append(f"{HEADER_TAG} must be 1")
    if not isinstance(entry.get("experiment"), str):
        problems.append("experiment must be a string")
    axes = entry.get("axes")
    if not (isinstance(axes, dict) and all(isinstance(v, list) for v in axes.values())):
        problems.append("axes must map names to lists")
    if not isinstance(entry.get("figure", {}), dict):
        problems.append("figure must be a table")
    keys = entry.get("keys")
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        problems.append("keys must be a list of point keys")
    if problems:
        raise ParameterError(f"{str(path)!r} line {number}: malformed sweep header ({problems[0]}; "
                             "hand-edited?); restore it or start a new results file")
    return entry


def _require_store(path: str | Path) -> tuple[dict, dict[str, dict]]:
    if not Path(path).exists():
        raise ParameterError(f"no sweep results at {str(path)!r}")
    if not Path(path).is_file():
        raise ParameterError(f"{str(path)!r} is not a file")
    header, records = read_store(path)
    if header is None:
        raise ParameterError(f"{str(path)!r} holds no sweep header; is it an xbar sweep results file?")
    return header, records


def sweep_status(path: str | Path) -> Status:
    """Points done and remaining of the latest grid recorded in ``path``."""
    header, records = _require_store(path)
    return Status(str(path), header["experiment"], len(header["keys"]),
                  sum(k in records for k in header["keys"]))


def load_records(path: str | Path) -> list[dict]:
    """Finished records (``key``, ``params``, ``result``) of the latest grid in ``path``, in grid order."""
    header, records = _require_store(path)
    return [records[k] for k in header["keys"] if k in records]


def grid_of(path: str | Path) -> Grid:
    """The latest grid recorded in results file ``path``."""
    header, _ = _require_store(path)
    return Grid(header["experiment"], {k: tuple(v) for k, v in header["axes"].items()},
                header.get("figure", {}))


def flat_rows(records: list[dict]) -> list[dict]:
    """One flat dict per record: parameters, then result fields (nested ones joined with dots)."""
    rows = []
    for rec in records:
        row = dict(rec["params"])
        for name, value in _flatten(rec["result"]):
            row[f"result.{name}" if name in rec["params"] else name] = value
        rows.append(row)
    return rows


def _flatten(result: dict, prefix: str = "") -> Iterator[tuple[str, object]]:
    for name, value in result.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", json.dumps(value) if isinstance(value, list) else value


def write_csv(records: list[dict], out) -> None:
    """Write ``records`` as CSV to the open text file ``out``; columns in first-seen order."""
    rows = flat_rows(records)
    columns = list(dict.fromkeys(c for row in rows for c in row))
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


@contextmanager
def _open_store(path: Path):
    """The results file opened for appending under an exclusive lock, torn tail removed.

    An existing file is changed only after it is recognised as xbar's own
    (:func:`is_results_file`); anything else is refused untouched.
    """
    import fcntl
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise ParameterError(f"results file {str(path)!r} is not a regular file")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise XbarError(f"results file {str(path)!r} is in use by another running sweep") from None
        size = os.fstat(fd).st_size
        _check_magic(os.pread(fd, len(_MAGIC), 0), path)
        if size and os.pread(fd, 1, size - 1) != b"\n":
            os.ftruncate(fd, _after_last_newline(fd, size))
            os.fsync(fd)
        yield fd
    finally:
        os.close(fd)


def _after_last_newline(fd: int, size: int) -> int:
    """Offset just past the last newline in the first ``size`` bytes of ``fd`` (0 if none)."""
    end = size
    while end > 0:
        start = max(end - (1 << 16), 0)
        cut = os.pread(fd, end - start, start).rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        end = start
    return 0


def _append(fd: int, entry: dict) -> None:
    """One line in one write() (looped only if the kernel writes less), then fsync."""
    data = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]
    os.fsync(fd)
