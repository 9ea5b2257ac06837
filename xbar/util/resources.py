"""Memory estimates checked before allocating, so a hopeless size fails in one line, not after minutes.

:func:`estimate_bytes` predicts the peak memory of building and solving a crossbar
from its size; :func:`check_memory` compares an estimate with the memory this
process may use (:func:`available_bytes`) and raises :class:`ResourceError` with
both numbers. The per-device and per-vector costs are measured, not derived: peak
RSS of ``Crossbar`` + ``solve`` on 100x100 .. 300x300 arrays with 3-cell devices and
wires (2026-11-25, numpy 1.26/scipy, native: 3.4-4.7 kB per device, ideal: 2.0 kB
per device, dominated by the circuit and its connectivity check; native batches
keep about five float64 copies of [batch, nodes]). Refine them here when the
circuit or a solver changes its footprint.
"""

from __future__ import annotations

import os
import re

from xbar.util.errors import ResourceError

#: Bytes per device for the crossbar, its circuit and the circuit check, plus per MTJ cell.
DEVICE_BYTES = 3000
CELL_BYTES = 400

#: float64 copies of the [batch, nodes] node voltages a native solve holds at its peak.
NATIVE_BATCH_COPIES = 5

#: Environment variable that sets the limit (bytes, or with a K/M/G/T suffix: 8G, 512M).
LIMIT_ENV = "XBAR_MEMORY_LIMIT"


def node_count(rows: int, cols: int) -> int:
    """Upper bound of a circuit's nodes with resistive wires: r, t, c per device, drivers, sense."""
    return 3 * rows * cols + 2 * rows + cols + 1


def estimate_bytes(rows: int, cols: int, cells: int = 3, batch: int = 0, backend: str = "native") -> int:
    """Predicted peak bytes of building a rows x cols crossbar of ``cells``-cell devices and
    solving ``batch`` input vectors on ``backend`` (native, ngspice, ideal)."""
    need = int(rows) * int(cols) * (DEVICE_BYTES + CELL_BYTES * int(cells))
    return need + (batch_bytes(rows, cols, batch, backend) if batch else 0)


def parse_size(text: str) -> int:
    """Bytes from ``"8G"``, ``"512M"``, ``"1.5T"``, ``"1000000"`` (binary multiples)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGT]?)i?B?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ResourceError(f"{LIMIT_ENV} must be a size like 8G, 512M or a number of bytes, got {text!r}")
    return int(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " "))


def available_bytes() -> int:
    """Memory this process may use: $XBAR_MEMORY_LIMIT if set, else the smaller of the
    system's available memory (/proc/meminfo MemAvailable, or sysconf) and the cgroup's headroom."""
    if os.environ.get(LIMIT_ENV, "").strip():
        return parse_size(os.environ[LIMIT_ENV])
    candidates = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                candidates.append(int(limit) - int(f.read()))
    except (OSError, ValueError):
        pass
    return max(min(candidates), 0) if candidates else 1 << 62


def human(n: int) -> str:
    """``n`` bytes as a short binary size: 13.7 GiB."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def check_memory(what: str, need: int) -> None:
    """Raise :class:`ResourceError` when ``what`` needs more than :func:`available_bytes`."""
    have = available_bytes()
    if need > have:
        limit = f"allowed by {LIMIT_ENV}" if os.environ.get(LIMIT_ENV, "").strip() else "available"
        raise ResourceError(f"{what} needs about {human(need)} of memory, more than the {human(have)} "
                            f"{limit}; use a smaller size or batch (or set {LIMIT_ENV})")


def batch_bytes(rows: int, cols: int, batch: int, backend: str = "native") -> int:
    """Predicted extra peak bytes of solving ``batch`` input vectors once the circuit exists."""
    if backend == "ideal":
        return 8 * int(batch) * (int(rows) + 2 * int(cols))
    if backend == "ngspice":
        return int(rows) * int(cols) * DEVICE_BYTES + 8 * 4 * int(batch) * int(cols)
    return 8 * NATIVE_BATCH_COPIES * int(batch) * node_count(rows, cols)


def array_file_shape(path) -> tuple[int, ...] | None:
    """Shape of the array in a .npy file (from its header), or an upper estimate for a CSV
    ([size / length of the first line, fields of the first line]); None when it cannot tell.
    Reads only the first bytes, so a huge file is judged before it is loaded; never opens what is
    not a regular file of at most ``LIMITS["input file"]`` bytes (:mod:`xbar.util.files`)."""
    import numpy as np

    from xbar.util.files import check_file, open_file
    try:
        size = check_file(path, "input file")
        with open_file(path, "input file") as f:
            if str(path).endswith(".npy"):
                version = np.lib.format.read_magic(f)
                read = {(1, 0): np.lib.format.read_array_header_1_0,
                        (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                return tuple(int(n) for n in read(f)[0]) if read else None
            first = f.readline(1 << 20)
    except (OSError, ValueError, SyntaxError):  # ParameterError too: the reader refuses it in its own words
        return None
    if not first.strip():
        return None
    return (max(1, size // len(first)), first.count(b",") + 1)


def check_array_file(path, what: str) -> tuple[int, ...] | None:
    """Refuse, before loading, a CSV/NPY file whose array would not fit in memory; returns its shape estimate."""
    shape = array_file_shape(path)
    if shape:
        values = 1
        for n in shape:
            values *= n
        # float64 result, plus as much again while a CSV is parsed
        factor = 8 if str(path).endswith(".npy") else 16
        check_memory(f"reading {what} from {path} (about {values:,} values)", factor * values)
    return shape
