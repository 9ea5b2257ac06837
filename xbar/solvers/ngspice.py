"""The ngspice backend: runs the real ngspice in batch mode on the netlist of a circuit.

One ngspice process solves a whole batch: the netlist is followed by a
``.control`` section that runs ``op``, writes the outputs to a binary raw file,
``alter``s the row sources to the next input vector, and so on. Only numbers
and index-built names reach that section, and its file paths come from a fresh
temporary directory whose name is checked, because ``.control`` can run shell
commands. Each call is its own process, so it is safe in parallel workers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..circuit import Circuit, as_circuit, check_inputs
from ..crossbar import Crossbar
from ..errors import SolverError
from ..netlist import format_number, netlist_text, output_vectors, read_raw
from .result import Solution

_SAFE_PATH = re.compile(r"[A-Za-z0-9_./\-]+")
_STEPPING = re.compile(r"singular matrix|gmin stepping|source stepping|Transient op", re.I)


def find_ngspice(executable: str | None = None) -> str:
    """Path of the ngspice executable: ``executable``, else $XBAR_NGSPICE, else ``ngspice`` on PATH."""
    name = executable or os.environ.get("XBAR_NGSPICE") or "ngspice"
    path = shutil.which(name)
    if path is None:
        raise SolverError(f"ngspice not found ({name!r}): install Debian's ngspice "
                          "(apt-get install ngspice) or set XBAR_NGSPICE to its path")
    return path


def ngspice_version(executable: str | None = None) -> str:
    """The installed ngspice's version line, e.g. ``ngspice-39``."""
    out = subprocess.run([find_ngspice(executable), "-v"], capture_output=True, text=True, timeout=60).stdout
    match = re.search(r"ngspice-\S+", out)
    return match.group(0) if match else out.strip().splitlines()[0]


def run_ngspice(netlist: str, workdir: Path, timeout_s: float, executable: str | None = None) -> str:
    """Run ``ngspice -b`` on netlist text in ``workdir``; returns its output. Failures raise SolverError."""
    exe = find_ngspice(executable)
    path = workdir / "circuit.cir"
    path.write_text(netlist)
    try:
        proc = subprocess.run([exe, "-b", str(path)], cwd=workdir, capture_output=True, text=True,
                              timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SolverError(f"ngspice did not finish within {timeout_s:g} s") from None
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise SolverError(f"ngspice failed (exit {proc.returncode}): {_last_error(output)}")
    if _STEPPING.search(output):
        # A linear, well-posed circuit converges by plain Newton; stepping means a singular
        # matrix, and its answer carries the added gmin: refuse it rather than return it.
        raise SolverError(f"ngspice did not converge directly (singular matrix; gmin or source stepping "
                          f"was needed): {_last_error(output)}")
    return output


def _last_error(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines()
             if re.search(r"error|no convergence|singular|fatal", ln, re.I)]
    return lines[-1] if lines else (output.strip().splitlines() or ["no output"])[-1]


class NgspiceSolver:
    """Solves a circuit with ngspice. ``timeout_s`` bounds each batch's ngspice run."""

    def __init__(self, circuit: Circuit | Crossbar, timeout_s: float = 3600.0, executable: str | None = None):
        self.circuit = as_circuit(circuit)
        self.timeout_s = float(timeout_s)
        self.executable = executable
        find_ngspice(executable)

    def control_section(self, x: np.ndarray, outdir: Path) -> str:
        """The ``.control`` block that solves each row of ``x`` [batch, rows] into ``outdir``/out<k>.raw."""
        out = str(outdir)
        if not _SAFE_PATH.fullmatch(out):
            raise SolverError(f"unsafe temporary directory name {out!r} for ngspice output")
        vectors = " ".join(output_vectors(self.circuit))
        lines = [".control", "set filetype=binary"]
        for k, row in enumerate(x):
            if k:
                changed = np.flatnonzero(row != x[k - 1])
                lines.extend(f"alter V{i} dc = {format_number(row[i])}" for i in changed)
            lines += ["op", f"write {out}/out{k}.raw {vectors}"]
        lines += ["quit", ".endc"]
        return "\n".join(lines) + "\n"

    def solve(self, inputs) -> Solution:
        """Sense currents and output voltages for row voltages ``inputs`` [batch, rows]."""
        c = self.circuit
        x = check_inputs(inputs, c.shape[0])
        with tempfile.TemporaryDirectory(prefix="xbar-ngspice-") as tmp:
            work = Path(tmp)
            text = netlist_text(c, inputs=x[0], analysis=False) + self.control_section(x, work) + ".end\n"
            output = run_ngspice(text, work, self.timeout_s, self.executable)
            names = output_vectors(c)
            values = np.empty((len(x), len(names)))
            for k in range(len(x)):
                raw = work / f"out{k}.raw"
                if not raw.exists():
                    raise SolverError(f"ngspice produced no operating point for input {k}: {_last_error(output)}")
                plot = read_raw(raw)[-1]
                missing = [n for n in names if n not in plot]
                if missing:
                    raise SolverError(f"ngspice result lacks {missing[0]}: {_last_error(output)}")
                values[k] = [plot[n][0] for n in names]
        currents = values if c.sense == "tia" else values / c.crossbar.ref_ohm
        return Solution.from_currents(c, currents)
