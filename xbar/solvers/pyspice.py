"""The pyspice backend: the same netlist as the ngspice backend, run in-process by libngspice.

PySpice's ``NgSpiceShared`` loads ``libngspice.so.0`` (or $NGSPICE_LIBRARY_PATH)
once per process (:func:`engine`): a sweep worker process has its own. Each
chunk of input vectors is the deck :func:`~xbar.solvers.ngspice.spice_deck`
writes, loaded with ``ngSpice_Circ``, run in ngspice's background thread (so a
time limit and Ctrl-C can stop it) and read from memory: no subprocess and no
raw files. Answers pass the same checks and refusals as the subprocess backend
(gmin/source stepping, Kirchhoff residual, resistance spread).

Time limits: the same ``--timeout`` / $XBAR_NGSPICE_TIMEOUT as the subprocess backend
bound each chunk's run, polled while ngspice's background thread works and ended with
``bg_halt``; SIGTERM/SIGINT halt it the same way. There is no child process to kill and no
folder to remove, but a call into the library that never returns (loading a deck, a halt
that hangs) cannot be interrupted from Python: only ending the process stops it.

PySpice 1.5 knows ngspice versions up to 34 and logs "Unsupported Ngspice
version" for newer ones, which work: xbar silences PySpice's log and reads
ngspice's output itself; the Solution's ``solver`` metadata names both versions.
"""

from __future__ import annotations

import ctypes.util
import logging
import os
import re
import time

import numpy as np

from xbar.array.circuit import Circuit, as_circuit, check_inputs
from xbar.array.crossbar import Crossbar
from xbar.util.errors import SolverError
from xbar.array.netlist import driver_vectors, output_vectors, source_vectors
from xbar.solvers.ngspice import (
    CHUNK,
    _KLU_USED,
    check_log,
    check_spread,
    check_timeout,
    collect,
    last_error,
    spice_deck,
    timeout_seconds,
)
from xbar.solvers.result import Solution
from xbar.util.processes import terminate_as_exit

_ENGINE: list["_Engine"] = []


def library_path() -> str:
    """The libngspice to load: $NGSPICE_LIBRARY_PATH, else the system's ``libngspice.so.0``."""
    return os.environ.get("NGSPICE_LIBRARY_PATH") or ctypes.util.find_library("ngspice") or "libngspice.so.0"


class _Engine:
    """One libngspice instance driven through PySpice, with output captured line by line."""

    def __init__(self):
        try:
            from PySpice.Spice.NgSpice import Shared
        except ImportError:
            raise SolverError("PySpice is not installed: pip install PySpice (or use --backend ngspice)") from None
        import PySpice
        self.lines: list[str] = []
        self.idle = True
        # PySpice logs every ngspice message, and "Unsupported Ngspice version" for any
        # ngspice newer than it knows (46 works): xbar reads the output itself instead.
        logger = logging.getLogger("PySpice")
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
        engine = self

        class Engine(Shared.NgSpiceShared):
            @staticmethod
            def _send_char(message_c, ngspice_id, user_data):
                text = Shared.ffi.string(message_c).decode("utf-8", errors="replace")
                engine.lines.append(text.partition(" ")[2])
                return 0

            @staticmethod
            def _background_thread_running(no_run, ngspice_id, user_data):
                engine.idle = bool(no_run)
                return 0

        Engine.LIBRARY_PATH = library_path()
        try:
            self.shared = Engine(ngspice_id=0, send_data=False)
        except OSError as exc:
            raise SolverError(f"libngspice could not be loaded ({Engine.LIBRARY_PATH}: {exc}); "
                              "install libngspice0 or set NGSPICE_LIBRARY_PATH") from None
        self.ffi = Shared.ffi
        self.lib = self.shared._ngspice_shared
        text = self.command("version -f")
        match = re.search(r"ngspice-\S+", text)
        self.build = dict(path=Engine.LIBRARY_PATH, version=match.group(0) if match else "unknown",
                          klu_compiled="Compiled with KLU" in text, pyspice=PySpice.__version__)

    def command(self, command: str) -> str:
        """Run one ngspice command; returns what it printed."""
        self.lines.clear()
        if self.lib.ngSpice_Command(command.encode("ascii")):
            raise SolverError(f"ngspice command {command!r} failed: {last_error(self.output())}")
        return self.output()

    def output(self) -> str:
        return "\n".join(self.lines)

    def load(self, deck: str) -> None:
        """Load a deck (netlist text) with ngSpice_Circ."""
        self.lines.clear()
        keep = [self.ffi.new("char[]", line.encode("ascii")) for line in deck.splitlines() if line]
        keep.append(self.ffi.new("char[]", b""))  # ngspice wants an empty last line
        array = self.ffi.new("char *[]", keep + [self.ffi.NULL])
        if self.lib.ngSpice_Circ(array) or re.search(r"^\s*error", self.output(), re.I | re.M):
            raise SolverError(f"ngspice could not load the circuit: {last_error(self.output())}")

    def run(self, limit_s: float) -> str:
        """Run the loaded deck's analysis in ngspice's background thread, within ``limit_s`` seconds."""
        self.lines.clear()
        start = time.monotonic()
        self.idle = False
        self.lib.ngSpice_Command(b"bg_run")
        try:
            while not self.idle or self.lib.ngSpice_running():
                if time.monotonic() - start > limit_s:
                    raise SolverError(f"ngspice did not finish within {limit_s:g} s (set --timeout or "
                                      "XBAR_NGSPICE_TIMEOUT to allow more)")
                time.sleep(0.005)
        finally:
            if self.lib.ngSpice_running():
                self.lib.ngSpice_Command(b"bg_halt")
                while self.lib.ngSpice_running():
                    time.sleep(0.005)
        return self.output()

    def vectors(self, names: list[str]) -> dict[str, np.ndarray]:
        """The current plot's vectors by xbar's names (``i(vs0)``, ``v(o0)``); missing ones are left out."""
        plot = self.ffi.string(self.lib.ngSpice_CurPlot()).decode("ascii", errors="replace")
        found = {}
        for name in names:
            inner = name[2:-1] + "#branch" if name.startswith("i(") else name[2:-1]
            info = self.lib.ngGet_Vec_Info(f"{plot}.{inner}".encode("ascii"))
            if info != self.ffi.NULL and info.v_realdata != self.ffi.NULL:
                buf = self.ffi.buffer(info.v_realdata, info.v_length * 8)
                found[name] = np.frombuffer(buf, dtype=np.float64).copy()
        return found

    def clear(self) -> None:
        """Drop the circuit and all result plots, so memory does not grow from run to run."""
        for command in (b"destroy all", b"remcirc"):
            self.lib.ngSpice_Command(command)


def engine() -> _Engine:
    """This process's libngspice instance, created on first use.

    A forked child keeps its own copy of the parent's (memory and library state are
    copied, and no run is in flight between calls); spawned workers create their own.
    """
    if not _ENGINE:
        _ENGINE.append(_Engine())
    return _ENGINE[0]


class PySpiceSolver:
    """Solves a circuit with libngspice in this process (see module docstring).

    ``timeout_s`` bounds each chunk's run, as for the ngspice backend.
    """

    def __init__(self, circuit: Circuit | Crossbar, timeout_s: float | None = None):
        self.circuit = as_circuit(circuit)
        self.timeout_s = None if timeout_s is None else check_timeout(timeout_s)
        check_spread(self.circuit)
        self.engine = engine()

    def solve(self, inputs) -> Solution:
        """Sense currents and output voltages for row voltages ``inputs`` [batch, rows]."""
        c = self.circuit
        x = check_inputs(inputs, c.shape[0])
        parts, residual, klu_used = [], 0.0, True
        for start in range(0, len(x), CHUNK):
            currents, res, klu = self._run(x[start:start + CHUNK])
            parts.append(currents)
            residual, klu_used = max(residual, res), klu_used and klu
        build = self.engine.build
        info = dict(backend="pyspice", ngspice=build["version"], klu_compiled=build["klu_compiled"],
                    klu_used=klu_used, kcl_residual=residual, runs=len(parts), library=build["path"],
                    pyspice=build["pyspice"])
        return Solution.from_currents(c, np.vstack(parts), solver=info)

    def _run(self, x: np.ndarray) -> tuple[np.ndarray, float, bool]:
        e = self.engine
        with terminate_as_exit():  # SIGTERM/SIGINT halt ngspice's background thread before xbar exits
            return self._run_engine(e, x)

    def _run_engine(self, e: "_Engine", x: np.ndarray) -> tuple[np.ndarray, float, bool]:
        try:
            e.load(spice_deck(self.circuit, x))
            output = e.run(timeout_seconds(self.circuit, len(x), self.timeout_s))
            if re.search(r"^\s*error|no convergence", output, re.I | re.M):
                raise SolverError(f"ngspice failed: {last_error(output)}")
            check_log(output)
            plot = e.vectors(output_vectors(self.circuit) + source_vectors(self.circuit, len(x) > 1)
                             + driver_vectors(self.circuit))
        finally:
            e.clear()
        currents, residual = collect(self.circuit, plot, x)
        return currents, residual, bool(_KLU_USED.search(output))
