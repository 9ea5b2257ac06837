"""The ngspice backend: runs the real ngspice in batch mode on the netlist of a circuit.

One ``ngspice -b -r out.raw`` process solves up to :data:`CHUNK` input vectors:
one vector is an ``.op``; a batch is one ``.dc`` sweep whose step k plays
vector k (:func:`xbar.array.netlist.sweep_sources`), so each vector costs one solve
of the circuit instead of a re-setup per ``alter`` + ``op``. No ``.control`` section is written, so no netlist line can
run a command; the only paths are argv entries inside a fresh temporary folder,
which is removed also when the run times out or is terminated.

Every answer is checked before it is returned (:func:`check_answer`): finite,
and the current the row sources deliver equals the current sensed (Kirchhoff's
current law over the whole circuit). Circuits whose resistance spread is past
what ngspice's tolerances resolve are refused up front (:func:`check_spread`).
The Solution records the ngspice version and whether KLU was compiled in and used.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from xbar.array.circuit import Circuit, as_circuit, check_inputs
from xbar.array.crossbar import Crossbar
from xbar.util.errors import ParameterError, SolverError
from xbar.array.netlist import analysis_line, driver_vectors, netlist_text, output_vectors, read_raw, source_vectors
from xbar.solvers import checks
from xbar.solvers.result import Solution

#: Paths that may appear inside a ``.control`` section (the transient and write solvers
#: write raw files from one): no spaces, quotes or shell characters.
_SAFE_PATH = re.compile(r"[A-Za-z0-9_./\-]+")
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


def find_ngspice(executable: str | None = None) -> str:
    """Path of the ngspice executable: ``executable``, else $XBAR_NGSPICE, else ``ngspice`` on PATH."""
    name = executable or os.environ.get("XBAR_NGSPICE") or "ngspice"
    path = shutil.which(name)
    if path is None:
        raise SolverError(f"ngspice not found ({name!r}): run scripts/install-ngspice (ngspice with KLU) "
                          "or set XBAR_NGSPICE to its path")
    return path


@functools.lru_cache(maxsize=8)
def _version_text(path: str) -> str:
    try:
        proc = subprocess.run([path, "-v"], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SolverError(f"cannot run {path} -v: {exc}") from None
    return (proc.stdout + proc.stderr).decode("utf-8", errors="replace")


def ngspice_build(executable: str | None = None) -> dict:
    """What ``ngspice -v`` says: ``{"path", "version" (e.g. ngspice-46), "klu_compiled"}``."""
    path = find_ngspice(executable)
    text = _version_text(path)
    match = re.search(r"ngspice-\S+", text)
    version = match.group(0) if match else (text.strip().splitlines() or ["unknown"])[0]
    return dict(path=path, version=version, klu_compiled="Compiled with KLU" in text)


def ngspice_version(executable: str | None = None) -> str:
    """The installed ngspice's version, e.g. ``ngspice-46``."""
    return ngspice_build(executable)["version"]


def timeout_seconds(circuit: Circuit, vectors: int, timeout_s: float | None = None) -> float:
    """The time limit of one ngspice run: ``timeout_s``, else $XBAR_NGSPICE_TIMEOUT, else scaled to the circuit.

    The default, 300 s + 0.2 ms per node per vector, is many times what a KLU
    build needs on a quiet machine (128x128, 100 vectors: about 35 s; limit
    960 s), enough for a 2-core machine loaded 5x over, or ngspice without KLU
    on small arrays, and still ends a hung run.
    """
    if timeout_s is None and os.environ.get("XBAR_NGSPICE_TIMEOUT"):
        text = os.environ["XBAR_NGSPICE_TIMEOUT"]
        try:
            timeout_s = float(text)
        except ValueError:
            raise ParameterError(f"XBAR_NGSPICE_TIMEOUT must be a number of seconds, got {text!r}") from None
    if timeout_s is None:
        return 300.0 + 2e-4 * circuit.n_nodes * vectors
    return check_timeout(timeout_s)


def check_timeout(timeout_s) -> float:
    """``timeout_s`` as a float, or ParameterError unless it is finite and > 0 seconds."""
    try:
        value = float(timeout_s)
    except (TypeError, ValueError):
        raise ParameterError(f"the ngspice timeout must be a number of seconds, got {timeout_s!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise ParameterError(f"the ngspice timeout must be finite and > 0 seconds, got {timeout_s!r}")
    return value


def check_spread(circuit: Circuit) -> None:
    """Refuse a circuit whose resistances span more than :data:`MAX_SPREAD` (open cells aside)."""
    ohms = [g.ohm for g in circuit.resistors] + [circuit.cell_ohm.ravel()]
    if circuit.channel_segment_ohm > 0:
        ohms.append(np.array([circuit.channel_segment_ohm]))
    r = np.concatenate(ohms)
    r = r[np.isfinite(r) & (r > 0)]
    if r.size and r.max() / r.min() > MAX_SPREAD:
        raise SolverError(f"resistances span {r.min():.3g}..{r.max():.3g} ohm (ratio {r.max() / r.min():.2g}), "
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


class _Stop:
    """SIGTERM and SIGINT as exceptions, held back while a child process is being started."""

    spawning = False
    pending: list[int] = []

    @classmethod
    def handler(cls, signum, frame):
        if cls.spawning:
            cls.pending.append(signum)
            return
        cls.fire(signum)

    @staticmethod
    def fire(signum):
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)


@contextlib.contextmanager
def terminate_as_exit():
    """Turn SIGTERM into SystemExit(143) (and SIGINT into KeyboardInterrupt) while inside, so
    temporary folders are removed and ngspice is killed; a signal that arrives while ngspice
    is being started waits until its process exists (see :func:`run_ngspice`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _Stop.handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_ngspice(netlist: str, workdir: Path, timeout_s: float, executable: str | None = None,
                raw: Path | None = None) -> str:
    """Run ``ngspice -b [-r raw]`` on netlist text in ``workdir``; returns its output (bad bytes replaced).

    Failures, timeouts and gmin/source stepping raise SolverError. However the wait
    ends (timeout, SIGTERM/SIGINT under :func:`terminate_as_exit`), ngspice is killed.
    """
    exe = find_ngspice(executable)
    path = workdir / "circuit.cir"
    path.write_text(netlist)
    argv = [exe, "-b"] + (["-r", str(raw)] if raw is not None else []) + [str(path)]
    _Stop.spawning, _Stop.pending = True, []
    try:
        proc = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
    finally:
        _Stop.spawning = False
    try:
        if _Stop.pending:
            _Stop.fire(_Stop.pending[0])
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise SolverError(f"ngspice did not finish within {timeout_s:g} s (set --timeout or "
                          "XBAR_NGSPICE_TIMEOUT to allow more)") from None
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    output = (stdout + stderr).decode("utf-8", errors="replace")
    if proc.returncode != 0:
        raise SolverError(f"ngspice failed (exit {proc.returncode}): {last_error(output)}")
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
    control section is a fresh temporary folder whose name is checked, and it is removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="xbar-ngspice-") as tmp:
        if not _SAFE_PATH.fullmatch(tmp):
            raise SolverError(f"unsafe temporary directory name {tmp!r} for ngspice output")
        work = Path(tmp)
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


def spice_deck(circuit: Circuit, x: np.ndarray) -> str:
    """The netlist that solves ``x`` [batch, rows]: ``.op`` for one vector, a ``.dc`` sweep for more,
    saving the outputs and the row sources' currents."""
    batch = x if len(x) > 1 else None
    text = netlist_text(circuit, inputs=None if batch is not None else x[0], analysis=False, batch=batch)
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


class NgspiceSolver:
    """Solves a circuit with ngspice subprocesses.

    ``timeout_s`` bounds each ngspice run (default: $XBAR_NGSPICE_TIMEOUT, else
    scaled to the circuit, see :func:`timeout_seconds`).
    """

    def __init__(self, circuit: Circuit | Crossbar, timeout_s: float | None = None, executable: str | None = None):
        self.circuit = as_circuit(circuit)
        self.timeout_s = None if timeout_s is None else check_timeout(timeout_s)
        self.executable = executable
        self.build = ngspice_build(executable)
        check_spread(self.circuit)

    def solve(self, inputs) -> Solution:
        """Sense currents and output voltages for row voltages ``inputs`` [batch, rows]."""
        c = self.circuit
        x = check_inputs(inputs, c.shape[0])
        parts, residual, klu_used = [], 0.0, True
        for start in range(0, len(x), CHUNK):
            chunk = x[start:start + CHUNK]
            currents, res, klu = self._run(chunk)
            parts.append(currents)
            residual, klu_used = max(residual, res), klu_used and klu
        info = dict(backend="ngspice", ngspice=self.build["version"], klu_compiled=self.build["klu_compiled"],
                    klu_used=klu_used, kcl_residual=residual, runs=len(parts))
        return Solution.from_currents(c, np.vstack(parts), solver=info)

    def _run(self, x: np.ndarray) -> tuple[np.ndarray, float, bool]:
        limit = timeout_seconds(self.circuit, len(x), self.timeout_s)
        with terminate_as_exit(), tempfile.TemporaryDirectory(prefix="xbar-ngspice-") as tmp:
            work = Path(tmp)
            output = run_ngspice(spice_deck(self.circuit, x), work, limit, self.executable, raw=work / "out.raw")
            if not (work / "out.raw").is_file():
                raise SolverError(f"ngspice wrote no results: {last_error(output)}")
            plot = read_raw(work / "out.raw")[-1]
        currents, residual = collect(self.circuit, plot, x)
        return currents, residual, bool(_KLU_USED.search(output))
