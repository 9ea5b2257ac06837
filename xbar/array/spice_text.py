"""Numbers in netlist text: the shortest form that reads back as the same double."""

from __future__ import annotations


def format_number(x: float) -> str:
    """Shortest text that reads back as exactly the same double (``0.1``, ``34600``)."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text
