"""``xbar doctor``: one screen on the installation (ngspice, KLU, Python packages)."""

from __future__ import annotations


def add_doctor(sub) -> None:
    """Register ``xbar doctor``."""
    p = sub.add_parser("doctor", help="show what xbar runs on: ngspice, KLU, PySpice, BLAS, directories",
                       description="One screen on the installation: ngspice path and version, whether KLU is "
                                   "compiled in (`ngspice -v`) and used (a test solve), libngspice/PySpice, the "
                                   "BLAS library and threads, the cache and data directories, and which datasets "
                                   "are present. Exits 1 only when something required is missing.")
    p.set_defaults(func=run_doctor)


def run_doctor(args) -> int:
    """Run ``xbar doctor``; returns the exit status."""
    from xbar.cli.environment import checks, exit_status, report
    found = checks()
    print(report(found))
    return exit_status(found)
