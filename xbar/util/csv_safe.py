"""CSV cells a spreadsheet will not evaluate: every CSV xbar exports is written through here.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and tab
or carriage return can hide such a start), so a forged string such as ``=cmd|' /C calc'!A0``
in a results file would execute when its CSV export is opened. Following OWASP's CSV
injection guidance, such a cell is written with a leading single quote (``'=cmd...``), which
spreadsheets show as text; the csv module quotes cells holding separators or quotes. Numbers
stay numbers: a cell whose text is a finite decimal number (``-1.5e-06``, ``+3``) is written
as it is; non-finite values spelled ``-inf`` are not numbers to a spreadsheet and are quoted.
"""

from __future__ import annotations

import csv
import io
import re
from typing import IO, Iterable

import numpy as np

#: First characters that make a spreadsheet evaluate a cell (OWASP: = + - @ tab CR).
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value):
    """``value`` as a CSV cell no spreadsheet evaluates: numbers unchanged, risky text quoted with ``'``."""
    if value is None or isinstance(value, bool):
        return value
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    if text.startswith(TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return value


def write_rows(out: IO[str], columns: list, rows: Iterable[dict]) -> None:
    """Write dict ``rows`` under ``columns`` as CSV to text file ``out``, every cell (and name) made safe."""
    names = [safe_cell(str(c)) for c in columns]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([safe_cell(row.get(c, "")) for c in columns])


def write_array(out: IO, array, header: str | None = None) -> None:
    """Write a float array [rows, cols] as CSV (``%.17g``, round-trip exact) to ``out`` (text or binary).

    Finite values need no neutralizing and go through numpy's writer; an array with
    non-finite values is written cell by cell through :func:`safe_cell`.
    """
    array = np.atleast_2d(np.asarray(array, dtype=np.float64))
    if np.isfinite(array).all():
        np.savetxt(out, array, delimiter=",", fmt="%.17g", header=header or "", comments="")
        return
    lines = [] if header is None else [",".join(str(safe_cell(h)) for h in header.split(","))]
    lines += [",".join(str(safe_cell(format(v, ".17g"))) for v in row) for row in array]
    text = "\n".join(lines) + "\n"
    out.write(text if isinstance(out, io.TextIOBase) else text.encode())
