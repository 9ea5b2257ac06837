"""The CLI reference, walked from the ``xbar`` argument parser (``xbar.cli.build_parser``)."""

from __future__ import annotations

import argparse
import html


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every subcommand's parser by name, in ``--help`` order."""
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def command_help(parser: argparse.ArgumentParser) -> dict[str, str]:
    """The one-line help of every subcommand."""
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {a.dest: a.help or "" for a in sub._choices_actions}


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """A parser's options and positionals, without ``--help``."""
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def _flags(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    if action.nargs == 0:
        return ", ".join(f"`{s}`" for s in action.option_strings)
    metavar = action.metavar or (("{" + ",".join(map(str, action.choices)) + "}") if action.choices
                                 else action.dest.upper())
    return ", ".join(f"`{s} {metavar}`" for s in action.option_strings)


def _help(action: argparse.Action) -> str:
    text = (action.help or "").replace("%%", "%")
    if "%(" in text:
        text = text % {**vars(action), "prog": "xbar"}
    return html.escape(" ".join(text.split()), quote=False).replace("|", "\\|")


def markdown(parser: argparse.ArgumentParser) -> str:
    """One section per subcommand: its description and a table of its options."""
    out = []
    for name, p in commands(parser).items():
        out += [f"## xbar {name}", "", command_help(parser)[name].capitalize() + ".", "",
                "```text", p.format_usage().strip(), "```", ""]
        if p.description:
            out += [html.escape(" ".join(p.description.split()), quote=False), ""]
        out += ["| option | what it does |", "|---|---|"]
        out += [f"| {_flags(a)} | {_help(a)} |" for a in options(p)]
        out.append("")
        if p.epilog:
            out += ["```text", p.epilog.strip("\n"), "```", ""]
    return "\n".join(out)
