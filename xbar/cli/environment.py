"""``xbar doctor``: one screen on what xbar runs on.

Each check is a :class:`Check` (what, status, detail, required); :func:`checks`
gathers them and :func:`report` formats them. Only a missing *required* part
(xbar's Python dependencies, a usable cache directory) makes the command fail:
ngspice, libngspice/PySpice and the datasets are optional, and their lines say
what is lost without them.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from xbar import __version__

#: Python packages xbar cannot run without (pyproject.toml's dependencies, by import name).
REQUIRED_MODULES = ("numpy", "scipy", "cholespy", "matplotlib", "sklearn", "tqdm", "threadpoolctl")


@dataclass(frozen=True)
class Check:
    """One line of the report: ``status`` is "ok", "warn" (optional part missing) or "FAIL"."""

    what: str
    status: str
    detail: str
    required: bool = False


def _installed_version(name: str, module) -> str:
    """The installed distribution's version (pip's view), else the module's own ``__version__``."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version({"sklearn": "scikit-learn"}.get(name, name))
    except PackageNotFoundError:
        return getattr(module, "__version__", "?")


def _python() -> list[Check]:
    found, missing = [], []
    for name in REQUIRED_MODULES:
        try:
            mod = importlib.import_module(name)
            found.append(f"{name} {_installed_version(name, mod)}")
        except ImportError:
            missing.append(name)
    line = Check("python", "ok", f"{platform.python_version()} ({sys.executable}); xbar {__version__}")
    deps = Check("dependencies", "FAIL" if missing else "ok",
                 f"missing {', '.join(missing)} (pip install -e .)" if missing else ", ".join(found), True)
    return [line, deps]


def _ngspice() -> list[Check]:
    from xbar.util.errors import XbarError
    from xbar.solvers.ngspice import ngspice_build
    try:
        build = ngspice_build()
    except XbarError as exc:
        return [Check("ngspice", "warn", f"{exc}; the ngspice backend is unavailable")]
    lines = [Check("ngspice", "ok", f"{build['version']} at {build['path']}")]
    if not build["klu_compiled"]:
        lines.append(Check("KLU", "warn", "no: `ngspice -v` does not say 'Compiled with KLU'; large circuits are "
                                          "slow (scripts/install-ngspice installs a KLU build)"))
        return lines
    used = _klu_used()
    lines.append(Check("KLU", "ok" if used is True else "warn",
                       "yes: compiled in (`ngspice -v`)" + {True: ", used by xbar's solves ('Using KLU')",
                                                            False: ", but a test solve did not use it"}.get(
                           used, f", test solve failed: {used}")))
    return lines


def _klu_used():
    """True/False from a 2x2 test solve's log, or the error text when the solve fails."""
    import numpy as np

    from xbar.array.crossbar import Crossbar
    from xbar.device.junction import MTJ
    from xbar.device.compound import CompoundMTJ
    from xbar.util.errors import XbarError
    from xbar.solvers import solve
    try:
        xb = Crossbar(CompoundMTJ(MTJ(10e3, 25e3), 1), np.array([[1, 0], [0, 1]]), row_wire_ohm=1.0)
        return bool(solve(xb, [[0.1, 0.05]], "ngspice").solver["klu_used"])
    except XbarError as exc:
        return str(exc)


def _pyspice() -> list[Check]:
    from xbar.util.errors import XbarError
    from xbar.solvers.pyspice import library_path
    try:
        import PySpice
        version = f"PySpice {PySpice.__version__}"
    except ImportError:
        return [Check("pyspice", "warn", "PySpice not installed (pip install PySpice); the pyspice backend is "
                                         "unavailable")]
    try:
        from xbar.solvers.pyspice import engine
        build = engine().build
    except XbarError as exc:
        return [Check("pyspice", "warn", f"{version}; {exc}")]
    return [Check("pyspice", "ok", f"{version} with libngspice {build['version']} ({library_path()}), KLU "
                                   f"{'yes' if build['klu_compiled'] else 'no'}")]


def _blas() -> list[Check]:
    from threadpoolctl import threadpool_info
    pools = threadpool_info()
    text = "; ".join(f"{p.get('internal_api')} {p.get('version') or ''} ({Path(p['filepath']).name}), "
                     f"{p['num_threads']} threads" for p in pools) or "none loaded yet"
    env = ", ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                                      "XBAR_THREADS") if k in os.environ)
    return [Check("BLAS", "ok", text + (f"; {env}" if env else "") + f"; {os.cpu_count()} CPUs")]


def _directories() -> list[Check]:
    from xbar.network.datasets import _FILES, _SOURCES, default_data_dir
    from xbar.network.mlp import default_cache_dir
    cache = Path(default_cache_dir())
    probe = cache if cache.exists() else next((p for p in cache.parents if p.exists()), cache)
    writable = os.access(probe, os.W_OK)
    lines = [Check("cache", "ok" if writable else "FAIL",
                   f"{cache}" + ("" if writable else " is not writable (set XBAR_CACHE_DIR)"), True)]
    data = default_data_dir()
    present = []
    for key, src in _SOURCES.items():
        if all((data / src.folder / f).is_file() or (data / f).is_file() for f in _FILES):
            present.append(key)
    lines.append(Check("data", "ok" if present else "warn",
                       f"{data}: " + (", ".join(present) if present else "no MNIST/Fashion-MNIST files")
                       + " (digits is bundled; set XBAR_DATA_DIR or --data-dir)"))
    return lines


def checks() -> list[Check]:
    """Every check, in report order."""
    return _python() + _ngspice() + _pyspice() + _blas() + _directories()


def report(found: list[Check]) -> str:
    """The screen: one line per check, then the verdict."""
    width = max(len(c.what) for c in found)
    lines = [f"{c.what:<{width}}  {c.status:<4}  {c.detail}" for c in found]
    failed = [c for c in found if c.required and c.status == "FAIL"]
    lines.append("required parts missing: " + ", ".join(c.what for c in failed) if failed
                 else "everything required is present")
    return "\n".join(lines)


def exit_status(found: list[Check]) -> int:
    """1 when a required part is missing, else 0."""
    return int(any(c.required and c.status == "FAIL" for c in found))
