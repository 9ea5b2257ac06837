"""The ``xbar`` command line: a thin layer over the modules.

Each subcommand is an ``add_<name>(subparsers)`` function that registers its
options and sets ``func``, in a module of this package per subcommand family
(:mod:`.array`: netlist, solve, settle; :mod:`.infer`; :mod:`.sweeps`;
:mod:`.program`; :mod:`.reproduce`; :mod:`.doctor`), with what they share in
:mod:`.common`. Every error is one line on stderr, never a traceback:
argparse errors and bad option values (checked at parse time by the converters
of :mod:`xbar.cli.argtypes`), any :class:`~xbar.util.errors.XbarError` and bad files
give ``xbar: error: ...`` and exit status 2; anything unexpected gives one
``internal error`` line and exit status 1 (``XBAR_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import os
import sys

from xbar import __version__
from xbar.cli.argtypes import Parser
from xbar.util.errors import XbarError
from xbar.cli.array import add_netlist, add_settle, add_solve
from xbar.cli.common import fail, os_message
from xbar.cli.doctor import add_doctor
from xbar.cli.explore import add_explore
from xbar.cli.infer import add_infer
from xbar.cli.program import add_program
from xbar.cli.reproduce import add_reproduce
from xbar.cli.sweeps import add_sweep

#: Every subcommand's registration function, in the order ``--help`` lists them.
COMMANDS: list = [add_netlist, add_solve, add_settle, add_infer, add_reproduce, add_sweep, add_explore, add_program,
                  add_doctor]


def build_parser() -> argparse.ArgumentParser:
    """The ``xbar`` argument parser with every subcommand of :data:`COMMANDS`."""
    parser = Parser(
        prog="xbar",
        description="Circuit-level simulator for compound SOT-MTJ crossbars.")
    parser.add_argument("--version", action="version", version=f"xbar {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``xbar`` with ``argv`` (default: the command line); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error already printed
        return exc.code or 0
    debug = bool(os.environ.get("XBAR_DEBUG"))
    try:
        return args.func(args) or 0
    except XbarError as exc:
        if debug:
            raise
        return fail(str(exc), 2)
    except OSError as exc:
        if debug:
            raise
        return fail(os_message(exc), 2)
    except MemoryError:
        if debug:
            raise
        return fail("out of memory: try a smaller problem (fewer rows, columns or input vectors)", 1)
    except KeyboardInterrupt:
        print("xbar: interrupted; finished work is kept and a rerun resumes", file=sys.stderr)
        return 130
    except Exception as exc:  # the last resort: one line, never a traceback
        if debug:
            raise
        return fail(f"internal error: {type(exc).__name__}: {exc}; set XBAR_DEBUG=1 for the traceback", 1)
