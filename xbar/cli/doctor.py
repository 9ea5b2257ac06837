"""``xbar doctor``: one screen on the installation (ngspice, KLU, Python packages)."""

from __future__ import annotations

from xbar.cli.common import add_timeout


def add_doctor(sub) -> None:
    """Register ``xbar doctor``."""
    p = sub.add_parser("doctor", help="show what xbar runs on: ngspice, KLU, PySpice, BLAS, directories",
                       description="One screen on the installation: ngspice path and version, whether KLU is "
                                   "compiled in (`ngspice -v`) and used (a test solve), libngspice/PySpice, the "
                                   "BLAS library and threads, the cache and data directories, and which datasets "
                                   "are present. Exits 1 only when something required is missing.")
    add_timeout(p, "60 s for `ngspice -v`, the scaled default for the test solve")
    p.set_defaults(func=run_doctor)


def run_doctor(args) -> int:
    """Run ``xbar doctor``; returns the exit status."""
    import os
    if args.timeout is not None:
        from xbar.solvers.ngspice_run import TIMEOUT_ENV, check_timeout
        os.environ[TIMEOUT_ENV] = str(check_timeout(args.timeout))
    from xbar.cli.environment import checks, exit_status, report
    found = checks()
    print(report(found))
    return exit_status(found)
