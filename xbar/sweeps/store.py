"""A sweep's results store: the one store protocol of :mod:`xbar.util.store` with the sweep's header.

Results store: append-only JSON lines, written by the parent process only, one
``write()`` of one line per finished point followed by ``fsync``. The first line of a
run is a header holding the grid and its point keys, so ``--status`` knows the total.
Chosen over SQLite because a line is self-describing, appendable from any tool,
readable while a sweep runs, and needs no schema for arbitrary records; with a single
writer (the store's lock), SQLite's transactions buy nothing here. Foreign files, links,
hand-edited headers, torn tails and concurrent writers are handled by the protocol.
A rerun with an extended grid (all stored points kept) appends a new header and reuses every
record; another experiment, or a grid that would hide stored points, needs its own file. Records are
keyed, and every view of them (status, CSV, figures) follows the grid's order, so results
never depend on the order in which points finish.

"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from xbar.util import store
from xbar.util.csv_safe import write_rows
from xbar.util.errors import ParameterError
from xbar.util.store import Kind
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


def _header_problems(kind: Kind, entry: dict) -> list[str]:
    """What is wrong with a sweep header (version 1): empty when nothing."""
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
    return problems


#: The sweep store: header ``{"xbar_sweep": 1, experiment, axes, figure, keys}``, records ``{key, params, result}``.
SWEEP = Kind(HEADER_TAG, "sweep", "choose another -o file", _header_problems,
             lambda entry: isinstance(entry.get("params"), dict) and isinstance(entry.get("result"), dict))


def read_store(path: str | Path) -> tuple[dict | None, dict[str, dict]]:
    """The latest grid header of a results file and its records by key (:func:`xbar.util.store.read_store`)."""
    headers, records = store.read_store(path, SWEEP)
    return (headers[-1] if headers else None), records


def open_sweep_store(path: str | Path):
    """The results file open for appending, under its lock (:func:`xbar.util.store.open_store`)."""
    return store.open_store(path, SWEEP)


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
    """Write ``records`` as CSV to the open text file ``out``; columns in first-seen order, cells a
    spreadsheet would evaluate neutralized (:mod:`xbar.util.csv_safe`)."""
    rows = flat_rows(records)
    columns = list(dict.fromkeys(c for row in rows for c in row))
    write_rows(out, columns, rows)
