"""ngspice raw files -> arrays: :func:`read_raw`, part of xbar's public API (``xbar.read_raw``).

``ngspice -b -r out.raw x.cir`` writes every saved vector of every analysis to
``out.raw``: a text header (title, date, plot name, flags, the number of
variables and points, one line per variable) followed by the values, binary
little-endian doubles (ngspice's default) or ASCII (``SPICE_ASCIIRAWFILE=1``
or ``set filetype=ascii``). One file may hold several plots, one per analysis.
"""

from __future__ import annotations

import numpy as np

from xbar.util.errors import SolverError
from xbar.util.files import read_bytes


def read_raw(path) -> list[dict[str, np.ndarray]]:
    """Read an ngspice raw file (binary or ASCII) into one dict of arrays per plot.

    Each plot (one per analysis, in the order ngspice ran them) maps lower-case
    vector names to float arrays [points]: node voltages ``v(o0)``, source
    currents ``i(vs0)`` (ngspice's ``vs0#branch``, renamed), the sweep or time
    variable (``v(v-sweep)``, ``temp-sweep``, ``time``) and, inside subcircuit
    instances, dotted names (``v(xarray.c3_4)``). An operating point, or an
    xbar netlist's one-point ``.dc``, has one point per vector::

        subprocess.run(["ngspice", "-b", "-r", "out.raw", "x.cir"], check=True)
        plot = xbar.read_raw("out.raw")[-1]
        currents = [plot[f"i(vs{j})"][0] for j in range(cols)]   # TIA sensing, ampere

    ngspice's branch current flows into a source's + terminal, so ``i(vs<j>)``
    is the current the column delivers to its sense source. Complex (AC) data is
    refused; a missing, truncated or garbage file raises :class:`SolverError`
    naming the file.
    """
    data = read_bytes(path, "ngspice raw file", SolverError)  # regular files of bounded size only
    try:
        plots = _parse_raw(data, path)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise SolverError(f"ngspice raw file {path} is truncated or not a raw file ({exc})") from None
    if not plots:
        raise SolverError(f"ngspice raw file {path} holds no results")
    return plots


def _parse_raw(data: bytes, path) -> list[dict[str, np.ndarray]]:
    plots, pos = [], 0
    while pos < len(data):
        header = {}
        names: list[str] = []
        while True:
            end = data.index(b"\n", pos)
            line = data[pos:end].decode("latin-1")
            pos = end + 1
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "variables":
                nvars = int(header["no. variables"])
                for _ in range(nvars):
                    end = data.index(b"\n", pos)
                    parts = data[pos:end].decode("latin-1").split()
                    pos = end + 1
                    names.append(_vector_name(parts[1]))
            elif key in ("binary", "values"):
                break
            else:
                header[key] = value.strip()
        nvars, npts = int(header["no. variables"]), int(header["no. points"])
        if nvars < 1 or npts < 0 or len(names) != nvars:
            raise ValueError(f"{nvars} variables and {npts} points declared, {len(names)} named")
        if "complex" in header.get("flags", "").lower():
            raise SolverError(f"ngspice raw file {path} holds complex data; xbar reads operating points only")
        if key == "binary":
            if len(data) - pos < 8 * nvars * npts:
                raise ValueError(f"{len(data) - pos} bytes of data where {8 * nvars * npts} are declared")
            values = np.frombuffer(data, dtype="<f8", count=nvars * npts, offset=pos)
            pos += 8 * nvars * npts
        else:
            tokens: list[str] = []
            while len(tokens) < (nvars + 1) * npts:
                if pos >= len(data):
                    raise ValueError(f"{len(tokens)} values where {(nvars + 1) * npts} are declared")
                end = data.find(b"\n", pos)
                end = len(data) if end < 0 else end
                tokens.extend(data[pos:end].decode("latin-1").split())
                pos = end + 1
            values = np.array([float(t) for k, t in enumerate(tokens) if k % (nvars + 1)])
        values = values.reshape(npts, nvars)
        plots.append({name: values[:, k].copy() for k, name in enumerate(names)})
        while pos < len(data) and data[pos:pos + 1] in (b"\n", b"\r", b" "):
            pos += 1
    return plots


def _vector_name(name: str) -> str:
    name = name.lower()
    if name.endswith("#branch"):
        return f"i({name[:-7]})"
    return name
