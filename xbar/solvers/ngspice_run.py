"""The one runner of the ngspice program: where it is, how long it may take, and how it is stopped.

Every ngspice process xbar starts goes through :func:`run_ngspice_process`: the ``-v``
probe (:func:`ngspice_build`), the batch ``.op``/``.dc`` solves, ``.tran`` and operating
points (:mod:`xbar.solvers.ngspice_tran`), write pulses (:mod:`xbar.solvers.write`), the
doctor's checks and ``settle --backend ngspice``. Each run:

* is limited by one time limit, resolved the same way everywhere (:func:`resolve_timeout`):
  the caller's ``timeout_s`` (``--timeout``), else ``$XBAR_NGSPICE_TIMEOUT``, else the
  caller's default (the probe's :data:`PROBE_TIMEOUT_S`, a batch solve's size-scaled
  :func:`timeout_seconds`, a transient's hour);
* runs in its own process group, killed whole on timeout, on error, on SIGTERM/SIGINT and
  after a normal exit (:func:`xbar.util.processes.run_group`), and is killed by the kernel
  when xbar is (Linux);
* works in a fresh folder ``xbar-ngspice-<pid>-<random>`` (:func:`scratch`), removed in every
  one of those cases; folders left by a killed xbar are removed by the next run
  (:mod:`xbar.util.litter`).

The PySpice backend runs libngspice inside xbar's own process: it has no child to kill and no
folder, and its time limit is polled (ngspice's background thread is halted when it passes);
a call into the library that does not return (loading a deck, a halt that hangs) cannot be
bounded from Python.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import numpy as np

from xbar.util.errors import ParameterError, SolverError
from xbar.util.litter import scratch_dir
from xbar.util.processes import run_group, terminate_as_exit

#: Environment variable holding the time limit of every ngspice run, in seconds.
TIMEOUT_ENV = "XBAR_NGSPICE_TIMEOUT"
#: Limit of the ``ngspice -v`` probe when neither ``--timeout`` nor the variable is set.
PROBE_TIMEOUT_S = 60.0
#: Paths that may appear inside a ``.control`` section: no spaces, quotes or shell characters.
_SAFE_PATH = re.compile(r"[A-Za-z0-9_./\-]+")


def find_ngspice(executable: str | None = None) -> str:
    """Path of the ngspice executable: ``executable``, else $XBAR_NGSPICE, else ``ngspice`` on PATH."""
    name = executable or os.environ.get("XBAR_NGSPICE") or "ngspice"
    path = shutil.which(name)
    if path is None:
        raise SolverError(f"ngspice not found ({name!r}): run scripts/install-ngspice (ngspice with KLU) "
                          "or set XBAR_NGSPICE to its path")
    return path


def check_timeout(timeout_s) -> float:
    """``timeout_s`` as a float, or ParameterError unless it is finite and > 0 seconds."""
    try:
        value = float(timeout_s)
    except (TypeError, ValueError):
        raise ParameterError(f"the ngspice timeout must be a number of seconds, got {timeout_s!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise ParameterError(f"the ngspice timeout must be finite and > 0 seconds, got {timeout_s!r}")
    return value


def resolve_timeout(timeout_s: float | None, default_s: float) -> float:
    """The limit of one ngspice run: ``timeout_s`` if given, else $XBAR_NGSPICE_TIMEOUT, else ``default_s``."""
    if timeout_s is None and os.environ.get(TIMEOUT_ENV):
        text = os.environ[TIMEOUT_ENV]
        try:
            timeout_s = float(text)
        except ValueError:
            raise ParameterError(f"{TIMEOUT_ENV} must be a number of seconds, got {text!r}") from None
    return check_timeout(default_s if timeout_s is None else timeout_s)


def timeout_seconds(circuit, vectors: int, timeout_s: float | None = None) -> float:
    """The time limit of one batch solve: ``timeout_s``, else $XBAR_NGSPICE_TIMEOUT, else scaled to the circuit.

    The default, 300 s + 0.2 ms per node per vector, is many times what a KLU
    build needs on a quiet machine (128x128, 100 vectors: about 35 s; limit
    960 s), enough for a 2-core machine loaded 5x over, or ngspice without KLU
    on small arrays, and still ends a hung run.
    """
    return resolve_timeout(timeout_s, 300.0 + 2e-4 * circuit.n_nodes * vectors)


def run_ngspice_process(argv_tail: list[str], workdir: Path, timeout_s: float,
                        executable: str | None = None) -> tuple[int, str]:
    """Run ``ngspice <argv_tail>`` in ``workdir`` within ``timeout_s``; returns (exit status, output).

    The output is stdout then stderr, undecodable bytes replaced. A run past its limit
    raises SolverError; its process group is killed in every case.
    """
    exe = find_ngspice(executable)
    try:
        status, output = run_group([exe, *argv_tail], workdir, timeout_s)
    except subprocess.TimeoutExpired:
        raise SolverError(f"ngspice did not finish within {timeout_s:g} s (set --timeout or "
                          f"{TIMEOUT_ENV} to allow more)") from None
    except OSError as exc:
        raise SolverError(f"cannot run {exe}: {exc}") from None
    return status, output.decode("utf-8", errors="replace")


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A fresh ngspice work folder whose path is safe inside a ``.control`` section; removed on
    the way out, also on SIGTERM/SIGINT (:func:`~xbar.util.processes.terminate_as_exit`)."""
    with terminate_as_exit(), scratch_dir("ngspice") as work:
        if not _SAFE_PATH.fullmatch(str(work)):
            raise SolverError(f"unsafe temporary directory name {str(work)!r} for ngspice output")
        yield work


_BUILDS: dict[str, str] = {}


def _version_text(path: str, timeout_s: float | None) -> str:
    """``ngspice -v``'s output, cached per executable once it has answered."""
    if path not in _BUILDS:
        with scratch() as work:
            _, text = run_ngspice_process(["-v"], work, resolve_timeout(timeout_s, PROBE_TIMEOUT_S), path)
        _BUILDS[path] = text
    return _BUILDS[path]


def ngspice_build(executable: str | None = None, timeout_s: float | None = None) -> dict:
    """What ``ngspice -v`` says: ``{"path", "version" (e.g. ngspice-46), "klu_compiled"}``.

    The probe is limited like every run (:func:`resolve_timeout`, default :data:`PROBE_TIMEOUT_S`).
    """
    path = find_ngspice(executable)
    text = _version_text(path, timeout_s)
    match = re.search(r"ngspice-\S+", text)
    version = match.group(0) if match else (text.strip().splitlines() or ["unknown"])[0]
    return dict(path=path, version=version, klu_compiled="Compiled with KLU" in text)


def ngspice_version(executable: str | None = None, timeout_s: float | None = None) -> str:
    """The installed ngspice's version, e.g. ``ngspice-46``."""
    return ngspice_build(executable, timeout_s)["version"]
