"""The ngspice backend: runs the real ngspice in batch mode on the netlist of a circuit.

One ``ngspice -b -r out.raw`` process solves up to :data:`CHUNK` input vectors:
one vector is an ``.op``; a batch is one ``.dc`` sweep whose step k plays
vector k (circuits with a temperature or access transistors: one ``.op`` per vector, see :func:`sweepable`) (:func:`xbar.array.netlist.sweep_sources`), so each vector costs one solve
of the circuit instead of a re-setup per ``alter`` + ``op``. No ``.control`` section is written, so no netlist line can
run a command; the only paths are argv entries inside a fresh temporary folder,
which is removed also when the run times out or is terminated; every process is started by
the one runner, :mod:`xbar.solvers.ngspice_run` (one time limit, process group killed whole).

Every answer is checked before it is returned (:func:`check_answer`): finite,
and the current the row sources deliver equals the current sensed (Kirchhoff's
current law over the whole circuit). Circuits whose resistance spread is past
what ngspice's tolerances resolve are refused up front (:func:`check_spread`).
The Solution records the ngspice version and whether KLU was compiled in and used.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from xbar.array.circuit import Circuit, as_circuit, check_inputs
from xbar.array.condensed import DEVICE_FORMS, check_condensable
from xbar.array.crossbar import Crossbar
from xbar.util.validate import choice
from xbar.util.errors import SolverError
from xbar.array.netlist import analysis_line, driver_vectors, netlist_text, output_vectors, read_raw, source_vectors
from xbar.solvers import checks
from xbar.solvers.ngspice_run import (  # noqa: F401  (re-exported: the runner's API)
    check_timeout,
    find_ngspice,
    ngspice_build,
    ngspice_version,
    run_ngspice_process,
    scratch,
    timeout_seconds,
)
from xbar.solvers.result import Solution

_STEPPING = re.compile(r"singular matrix|gmin stepping|source stepping|Transient op", re.I)
_KLU_USED = re.compile(r"Using KLU", re.I)
#: Input vectors per ngspice run: long enough to amortize parsing, short enough that each
#: row's piecewise-linear table stays small.
CHUNK = 256
#: Largest ratio of the largest to the smallest resistance ngspice is trusted with: about
#: 1 / double-precision epsilon, past which a node's small conductances vanish beside its
#: large ones. Measured on 8x8 with log-normal variation: sigma 5 (spread 2e10) agrees with
#: the native solver to 3e-15, sigma 10 (4e20) to 4e-10, sigma 20 breaks Kirchhoff's law.
MAX_SPREAD = 1e15
#: Largest relative Kirchhoff residual accepted: delivered minus sensed current, over the
#: delivered current. Exact solves of these linear circuits give about 1e-14.
MAX_RESIDUAL = 1e-6


def check_spread(circuit: Circuit) -> None:
    """Refuse a circuit whose resistances span more than :data:`MAX_SPREAD` (open cells aside)."""
    span = checks.resistance_range(circuit)
    if span and span[1] / span[0] > MAX_SPREAD:
        low, high = span
        raise SolverError(f"resistances span {low:.3g}..{high:.3g} ohm (ratio {high / low:.2g}), "
                          f"past the {MAX_SPREAD:.0e} that ngspice's tolerances resolve; use the native solver "
                          "(exact) or less variation")


def check_answer(circuit: Circuit, outputs: np.ndarray, source_currents: np.ndarray) -> float:
    """Check one batch of SPICE outputs; returns the largest relative Kirchhoff residual.

    ``outputs`` [batch, cols] are the sense currents (TIA) or sense-node voltages
    (resistor); ``source_currents`` [batch, rows] the row sources' ngspice
    currents. Non-finite values, or a delivered current that differs from the
    sensed one by more than :data:`MAX_RESIDUAL` of it, raise SolverError.
    """
    if not (np.isfinite(outputs).all() and np.isfinite(source_currents).all()):
        raise SolverError("ngspice returned non-finite values; the circuit is outside what it resolves")
    sensed = outputs.sum(axis=1) if circuit.sense == "tia" else outputs.sum(axis=1) / circuit.crossbar.ref_ohm
    delivered = -source_currents.sum(axis=1)
    scale = np.maximum(np.abs(source_currents).sum(axis=1), np.abs(sensed))
    residual = np.abs(delivered - sensed) / np.where(scale > 0, scale, 1.0)
    worst = float(residual.max(initial=0.0))
    if worst > MAX_RESIDUAL:
        k = int(np.argmax(residual))
        raise SolverError(f"ngspice's answer breaks Kirchhoff's current law (input {k}: sources deliver "
                          f"{delivered[k]:.6g} A, columns sense {sensed[k]:.6g} A); refusing it")
    return worst


def run_ngspice(netlist: str, workdir: Path, timeout_s: float, executable: str | None = None,
                raw: Path | None = None) -> str:
    """Run ``ngspice -b [-r raw]`` on netlist text in ``workdir``; returns its output (bad bytes replaced).

    Failures, timeouts and gmin/source stepping raise SolverError. The process is run by
    :func:`xbar.solvers.ngspice_run.run_ngspice_process` (its whole group killed however the
    run ends).
    """
    path = workdir / "circuit.cir"
    path.write_text(netlist)
    argv = ["-b"] + (["-r", str(raw)] if raw is not None else []) + [str(path)]
    status, output = run_ngspice_process(argv, workdir, timeout_s, executable)
    if status != 0:
        raise SolverError(f"ngspice failed (exit {status}): {last_error(output)}")
    check_log(output)
    return output


def check_log(output: str) -> None:
    """Refuse a run whose log shows gmin or source stepping (a singular matrix)."""
    if _STEPPING.search(output):
        # A linear, well-posed circuit converges by plain Newton; stepping means a singular
        # matrix, and its answer carries the added gmin: refuse it rather than return it.
        raise SolverError(f"ngspice did not converge directly (singular matrix; gmin or source stepping "
                          f"was needed): {last_error(output)}")


def run_control(deck: str, analysis: str, vectors: str, what: str, timeout_s: float,
                executable: str | None = None) -> dict[str, np.ndarray]:
    """Run ``deck`` (netlist text without ``.end``) with one ``.control`` analysis command and return
    the last plot of ``vectors`` that ngspice writes (e.g. ``"tran 1e-12 1e-9"`` and ``"time v(o0)"``).

    For analyses that keep more than the batch solver's outputs (transients, every node voltage).
    ``analysis`` and ``vectors`` must hold only numbers and index-built names; the one path in the
    control section is a fresh temporary folder whose name is checked (:func:`~xbar.solvers.ngspice_run.scratch`),
    removed afterwards. ``timeout_s`` is the caller's resolved limit (:func:`~xbar.solvers.ngspice_run.resolve_timeout`).
    """
    with scratch() as work:
        control = [".control", "set filetype=binary", analysis, f"write {work}/out.raw {vectors}", "quit",
                   ".endc", ".end"]
        output = run_ngspice(deck + "\n".join(control) + "\n", work, timeout_s, executable)
        raw = work / "out.raw"
        if not raw.exists():
            raise SolverError(f"ngspice produced no {what}: {last_error(output)}")
        return read_raw(raw)[-1]


def last_error(output: str) -> str:
    """The most telling line of an ngspice log, printable on one line."""
    lines = [ln.strip() for ln in output.splitlines()
             if re.search(r"error|no convergence|singular|fatal|too many|abort", ln, re.I)]
    line = lines[-1] if lines else (output.strip().splitlines() or ["no output"])[-1]
    return line.encode("ascii", errors="replace").decode()[:300]


def spice_deck(circuit: Circuit, x: np.ndarray, condensed: bool = False) -> str:
    """The netlist that solves ``x`` [batch, rows]: ``.op`` for one vector, a ``.dc`` sweep for more,
    saving the outputs and the row sources' currents (``condensed``: devices as their DC equivalents)."""
    batch = x if len(x) > 1 else None
    text = netlist_text(circuit, inputs=None if batch is not None else x[0], analysis=False, batch=batch,
                        condensed=condensed)
    saves = output_vectors(circuit) + source_vectors(circuit, batch is not None) + driver_vectors(circuit)
    return text + f".save {' '.join(saves)}\n{analysis_line(batch)}\n.end\n"


def collect(circuit: Circuit, plot: dict, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Sense currents [n, cols] for inputs ``x`` [n, rows] from a result plot (name -> array [n]), checked by
    :func:`check_answer` (Kirchhoff) and against what xbar applied and the passive bounds (:mod:`.checks`)."""
    n = len(x)
    outs = output_vectors(circuit)
    srcs = source_vectors(circuit, n > 1)
    drvs = driver_vectors(circuit)
    missing = [name for name in outs + srcs + drvs if name not in plot]
    if missing:
        raise SolverError(f"ngspice result lacks {missing[0]}")
    values, sources, drivers = (np.array([np.atleast_1d(plot[name]) for name in names]).T
                                for names in (outs, srcs, drvs))
    if values.shape != (n, len(outs)) or sources.shape != (n, len(srcs)) or drivers.shape != (n, len(drvs)):
        raise SolverError(f"ngspice returned {values.shape[0]} points for {n} input vectors")
    residual = check_answer(circuit, values, sources)
    currents = values if circuit.sense == "tia" else values / circuit.crossbar.ref_ohm
    checks.check_applied(circuit, x, drivers, -sources, "ngspice")
    checks.check_node_voltages(circuit, x, drivers, "ngspice")
    checks.check_currents(circuit, x, currents, "ngspice")
    return currents, residual


def sweepable(circuit: Circuit) -> bool:
    """Whether a batch can be one ``.dc`` sweep of TEMP used as a counter: only when nothing in the
    circuit depends on temperature (no temperature set, no access transistor); else one ``.op`` per vector."""
    return circuit.access is None and circuit.temperature_c is None


class NgspiceSolver:
    """Solves a circuit with ngspice subprocesses.

    ``timeout_s`` bounds each ngspice run (default: $XBAR_NGSPICE_TIMEOUT, else
    scaled to the circuit, see :func:`timeout_seconds`). ``devices``: ``full`` (each compound
    device as its subcircuit: every cell and channel segment) or ``condensed`` (each as its exact
    DC equivalent, :mod:`xbar.array.condensed`: 1.8x faster on 128x128 tiles; linear DC reads only).
    """

    def __init__(self, circuit: Circuit | Crossbar, timeout_s: float | None = None, executable: str | None = None,
                 devices: str = "full"):
        self.circuit = as_circuit(circuit)
        self.condensed = choice("devices", devices, DEVICE_FORMS) == "condensed"
        if self.condensed:
            check_condensable(self.circuit)
        self.timeout_s = None if timeout_s is None else check_timeout(timeout_s)
        self.executable = executable
        self.build = ngspice_build(executable, self.timeout_s)
        check_spread(self.circuit)

    def solve(self, inputs) -> Solution:
        """Sense currents and output voltages for row voltages ``inputs`` [batch, rows]."""
        c = self.circuit
        x = check_inputs(inputs, c.shape[0])
        parts, residual, klu_used = [], 0.0, True
        step = CHUNK if sweepable(c) else 1
        for start in range(0, len(x), step):
            chunk = x[start:start + step]
            currents, res, klu = self._run(chunk)
            parts.append(currents)
            residual, klu_used = max(residual, res), klu_used and klu
        info = dict(backend="ngspice", ngspice=self.build["version"], klu_compiled=self.build["klu_compiled"],
                    klu_used=klu_used, kcl_residual=residual, runs=len(parts),
                    devices="condensed" if self.condensed else "full")
        return Solution.from_currents(c, np.vstack(parts), solver=info)

    def _run(self, x: np.ndarray) -> tuple[np.ndarray, float, bool]:
        limit = timeout_seconds(self.circuit, len(x), self.timeout_s)
        with scratch() as work:
            output = run_ngspice(spice_deck(self.circuit, x, self.condensed), work, limit, self.executable,
                                 raw=work / "out.raw")
            if not (work / "out.raw").is_file():
                raise SolverError(f"ngspice wrote no results: {last_error(output)}")
            plot = read_raw(work / "out.raw")[-1]
        currents, residual = collect(self.circuit, plot, x)
        return currents, residual, bool(_KLU_USED.search(output))
