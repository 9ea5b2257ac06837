"""The one results-store protocol: every results file xbar appends to (sweeps, ``xbar program``,
the paper reproduction's points) is read and written here.

A store is append-only JSON lines. Its first line is a header ``{"<tag>": 1, ...}`` whose tag
names the kind of store (:class:`Kind`); later lines are records ``{"key": "...", ...}`` or
further headers (a sweep's extended grid). The protocol:

* **Foreign files refused untouched.** A non-empty file that does not start with the kind's
  header is neither read nor changed (an unrelated file named as the output, a store of another
  kind, one written by an older xbar without a header); neither is a path that is a symbolic
  link or not a regular file. A header that does not parse or fails the kind's check
  (hand-edited) is an error naming its line, never skipped.
* **One writer at a time.** A writer holds an exclusive ``flock`` for as long as it has the
  store open (a whole sweep or study); a second writer is refused in one line at once, so two
  runs never compute and append the same points. The kernel drops the lock of a killed writer.
* **Torn tails repaired.** A kill can tear at most the last line, which has no newline: readers
  ignore it, and the next writer truncates it (under the lock) before appending, so a new
  record never glues onto it.
* **Records keyed.** Each record is one ``write()`` of one line, then ``fsync``. Records that do
  not parse or fail the kind's check are ignored (their point is computed again); a key seen
  twice keeps its first record.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from xbar.util.errors import ParameterError, XbarError


def _any_record(record: dict) -> bool:
    """Every keyed record is complete (the default check)."""
    return True


def _header_v1(kind: "Kind", entry: dict) -> list[str]:
    """A header is well-formed when its tag's value is 1 (the default check)."""
    return [] if entry.get(kind.tag) == 1 else [f"{kind.tag} must be 1"]


@dataclass(frozen=True)
class Kind:
    """What distinguishes one kind of store: its header tag and its checks.

    ``tag``: the header's first key (``xbar_sweep``); ``name``: the kind in messages
    (``sweep``); ``elsewhere``: what the user should do instead (``choose another -o file``);
    ``header_problems(kind, entry)``: what is wrong with a header (empty: nothing);
    ``valid_record(entry)``: whether a keyed record is complete enough to reuse.
    """

    tag: str
    name: str
    elsewhere: str
    header_problems: Callable[["Kind", dict], list[str]] = field(default=_header_v1)
    valid_record: Callable[[dict], bool] = field(default=_any_record)

    @property
    def magic(self) -> bytes:
        """How every store of this kind starts: its first header's opening bytes."""
        return b'{"' + self.tag.encode() + b'":'

    def header(self, **fields) -> dict:
        """A version-1 header of this kind with ``fields`` after the tag."""
        return {self.tag: 1, **fields}


def _check_magic(head: bytes, path, kind: Kind) -> None:
    if head and head != kind.magic:
        raise ParameterError(f"{str(path)!r} is not an xbar {kind.name} results file (it does not start with an "
                             f"{kind.tag} header); refusing to read or change it, {kind.elsewhere}")


def _check_header(entry: dict, path, number: int, kind: Kind) -> dict:
    problems = kind.header_problems(kind, entry)
    if problems:
        raise ParameterError(f"{str(path)!r} line {number}: malformed {kind.name} header ({problems[0]}; "
                             "hand-edited?); restore it or start a new results file")
    return entry


def read_store(path: str | os.PathLike, kind: Kind) -> tuple[list[dict], dict[str, dict]]:
    """The headers of store ``path`` (oldest first) and its valid records by key (first wins).

    A foreign file or a hand-edited header raises ParameterError; a torn last line and
    record lines that do not parse or fail ``kind.valid_record`` are ignored.
    """
    headers, records = [], {}
    with open(path, "rb") as f:
        _check_magic(f.read(len(kind.magic)), path, kind)
        f.seek(0)
        for number, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                break
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError):  # RecursionError: a line nested too deeply to parse
                if line.startswith(kind.magic):
                    raise ParameterError(f"{str(path)!r} line {number}: {kind.name} header is not valid JSON "
                                         "(hand-edited?); restore it or start a new results file") from None
                continue
            if not isinstance(entry, dict):
                continue
            if kind.tag in entry:
                headers.append(_check_header(entry, path, number, kind))
            elif isinstance(entry.get("key"), str) and kind.valid_record(entry):
                records.setdefault(entry["key"], entry)
    return headers, records


class Writer:
    """A store open for appending under its lock (see :func:`open_store`)."""

    def __init__(self, fd: int, path: Path, kind: Kind):
        self.fd, self.path, self.kind = fd, path, kind

    def read(self) -> tuple[list[dict], dict[str, dict]]:
        """The store's headers and records as they are now (:func:`read_store`)."""
        return read_store(self.path, self.kind)

    def append(self, entry: dict) -> None:
        """Append one header or keyed record: one line in one write() (looped only if the kernel
        writes less), then fsync. Refuses a record without a string key."""
        if self.kind.tag not in entry and not isinstance(entry.get("key"), str):
            raise ParameterError(f"a {self.kind.name} record needs a string key")
        data = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        while data:
            data = data[os.write(self.fd, data):]
        os.fsync(self.fd)

    def ensure_header(self, header: dict) -> list[dict]:
        """Append ``header`` unless it is already the latest header; returns the headers before."""
        headers, _ = self.read()
        if not headers or headers[-1] != json.loads(json.dumps(header)):
            self.append(header)
        return headers


def _refuse_path(path: Path, kind: Kind) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise ParameterError(f"results file {str(path)!r} is a symbolic link; refusing to write through it, "
                             f"{kind.elsewhere}")
    if not stat.S_ISREG(mode):
        raise ParameterError(f"results file {str(path)!r} is not a regular file")


@contextmanager
def open_store(path: str | os.PathLike, kind: Kind) -> Iterator[Writer]:
    """Store ``path`` (created if missing) opened for appending under an exclusive lock, torn tail removed.

    An existing file is changed only after it is recognised as a store of ``kind``; a link, a
    non-regular file or anything else is refused untouched. A store held by another writer is
    refused at once (XbarError).
    """
    path = Path(path)
    _refuse_path(path, kind)
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if os.path.islink(path):  # swapped for a link after the check above
            _refuse_path(path, kind)
        raise exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise XbarError(f"results file {str(path)!r} is in use by another running {kind.name}; wait for it "
                            f"to finish, or {kind.elsewhere}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ParameterError(f"results file {str(path)!r} is not a regular file")
        size = os.fstat(fd).st_size
        _check_magic(os.pread(fd, len(kind.magic), 0), path, kind)
        if size and os.pread(fd, 1, size - 1) != b"\n":
            os.ftruncate(fd, _after_last_newline(fd, size))
            os.fsync(fd)
        yield Writer(fd, path, kind)
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
