"""The ``xbar`` command line: a thin layer over the modules.

Each subcommand is a ``_add_<name>(subparsers)`` function that registers its
options and sets ``func``. Any :class:`~xbar.errors.XbarError` (and bad files)
becomes one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from .errors import XbarError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xbar",
        description="Circuit-level simulator for compound SOT-MTJ crossbars.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except XbarError as exc:
        print(f"xbar: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"xbar: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xbar: interrupted; finished work is kept and a rerun resumes", file=sys.stderr)
        return 130


#: Every subcommand's registration function, in the order ``--help`` lists them.
_COMMANDS: list = []

if __name__ == "__main__":
    sys.exit(main())
