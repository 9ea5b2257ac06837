"""How to rerun a result: the command line, xbar's version and commit, the versions it ran on, and every seed.

Every report and ``results.json`` carries :func:`provenance`'s record, so a number in a report can be
reproduced from what the report itself says.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from xbar import __version__

#: Python packages whose versions change numbers (solvers, training, models), by distribution name.
PACKAGES = ("numpy", "scipy", "scikit-learn", "cholespy", "onnx")


def command_line(argv: list[str] | None = None) -> str:
    """The command as a user would type it again: ``xbar ...`` when run through the CLI, else the Python argv."""
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        return ""
    head = Path(argv[0])
    if head.name == "xbar" or head.parts[-2:] == ("cli", "__main__.py"):
        return shlex.join(["xbar", *argv[1:]])
    return shlex.join([Path(sys.executable).name, *argv])


def git_commit() -> dict | None:
    """``{"commit", "dirty"}`` of the checkout xbar runs from, or None for an installed package."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, stdin=subprocess.DEVNULL)
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    return dict(commit=head.stdout.strip(), dirty=bool(status.stdout.strip()))


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _ngspice() -> dict:
    from xbar.solvers.ngspice import ngspice_build
    try:
        build = ngspice_build()
    except Exception as exc:  # noqa: BLE001 -- absent or broken ngspice is a fact to record, not a failure
        return dict(version=None, klu_compiled=None, note=str(exc).splitlines()[0][:200])
    return dict(version=build["version"], klu_compiled=build["klu_compiled"])


def provenance(seeds: dict | None = None, argv: list[str] | None = None) -> dict:
    """The record that lets a result be rerun: command, xbar version (and commit), versions, machine, seeds."""
    return dict(command=command_line(argv), xbar=__version__, git=git_commit(), versions=_versions(),
                ngspice=_ngspice(), machine=f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
                seeds=dict(seeds or {}))


def markdown(record: dict) -> list[str]:
    """A report's "How to rerun" section for a :func:`provenance` record."""
    v = record["versions"]
    git = record.get("git")
    where = f"xbar {record['xbar']}" + (f", commit {git['commit'][:12]}{' (with local changes)' if git['dirty'] else ''}"
                                        if git else "")
    ng = record["ngspice"]
    spice = (f"{ng['version']} ({'KLU' if ng['klu_compiled'] else 'no KLU'})" if ng.get("version")
             else "not available")
    return ["## How to rerun", "",
            "```sh", record["command"] or "(called from Python)", "```", "",
            f"- {where}; Python {v['python']}, " + ", ".join(f"{k} {v[k]}" for k in PACKAGES if v.get(k)),
            f"- ngspice: {spice}; machine: {record['machine']}",
            "- seeds: " + (", ".join(f"{k} = {s}" for k, s in record["seeds"].items()) or "none"), ""]
