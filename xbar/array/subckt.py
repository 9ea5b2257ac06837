"""The array as a SPICE component: the ports of ``.subckt NAME`` and the checks on NAME.

:func:`xbar.array.netlist.netlist_text` with ``subckt=NAME`` writes the array's
elements between ``.subckt NAME <ports>`` and ``.ends NAME`` and nothing else:
the designer's testbench brings the sources, the sense amplifiers, the analysis
and the options. Everything the array needs (its parameters, the compound-MTJ
subcircuits, the junction ``.func``) is defined inside, so a ``.include`` adds
one name, NAME, to the designer's deck.
"""

from __future__ import annotations

import re

from xbar.array.circuit import Circuit
from xbar.util.errors import ParameterError

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def check_subckt_name(name) -> str:
    """``name`` if it is a SPICE identifier xbar may write, else a ParameterError.

    A letter, then letters, digits or ``_``, at most 64 characters; not ``cmtj...``
    (the compound-device subcircuits inside). SPICE names are case-insensitive.
    """
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ParameterError(f"subcircuit name {name!r} is not a SPICE identifier: a letter, then letters, "
                             "digits or _ (at most 64 characters)")
    if name.lower().startswith("cmtj"):
        raise ParameterError(f"subcircuit name {name!r} clashes with the compound-device subcircuits cmtj<n> "
                             "inside it: choose another name")
    return name


def subckt_ports(circuit: Circuit) -> list[str]:
    """The subcircuit's ports, in order: ``in0 .. in<rows-1>`` (row inputs, before each driver),
    ``o0 .. o<cols-1>`` (column outputs, where the sense element connects), with resistor
    sensing ``ref`` (the far end of every reference resistor, usually ground) and, with access
    transistors, the word lines ``wl0 .. wl<rows-1>`` (their gates; drive them to ``vwl``)."""
    rows, cols = circuit.shape
    ports = [f"in{i}" for i in range(rows)] + [f"o{j}" for j in range(cols)]
    ports += ["ref"] if circuit.sense == "resistor" else []
    return ports + ([f"wl{i}" for i in range(rows)] if circuit.access is not None else [])


def port_node_names(circuit: Circuit) -> list[str]:
    """The circuit's node names inside the subcircuit: each column's output node is its port ``o<j>``
    (also where an ideal column wire merged it into the wire), and ground, reached inside only by the
    reference resistors, is the port ``ref``."""
    names = circuit.node_names()
    for j, node in enumerate(circuit.output_nodes.tolist()):
        names[node] = f"o{j}"
    names[0] = "ref"
    return names


def ports_comment(circuit: Circuit, name: str | None) -> list[str]:
    """Header comments that say how to instantiate the subcircuit ``name`` (none for a full netlist)."""
    if name is None:
        return []
    rows, cols = circuit.shape
    lines = [f"* subcircuit {name}: X<inst> <{rows} row inputs> <{cols} column outputs>"
             + (" <ref>" if circuit.sense == "resistor" else "")
             + (f" <{rows} word lines>" if circuit.access is not None else "") + f" {name}",
             f"* ports: in0..in{rows - 1} drive the rows (through the driver resistance), "
             f"o0..o{cols - 1} are the column ends"]
    if circuit.sense == "tia":
        lines.append("* hold each o<j> at virtual ground (a TIA) to read its column current")
    else:
        lines.append("* the reference resistors run from o<j> to ref; tie ref to ground and read v(o<j>)")
    if circuit.access is not None:
        lines.append(f"* wl0..wl{rows - 1}: the rows' word lines, the access transistors' gates (drive them to "
                     f"{circuit.access.wordline_volt:g} V for a read)")
    return lines


def as_subckt(circuit: Circuit, name: str, head: list[str], body: list[str]) -> list[str]:
    """Wrap a netlist's header and elements in ``.subckt name <ports>`` ... ``.ends name``.

    The header's comments stay above the ``.subckt`` line; its parameters and
    device subcircuits go inside, where they are local to ``name``.
    """
    check_subckt_name(name)
    first = next(k for k, line in enumerate(head) if not line.startswith("*"))
    return [*head[:first], f".subckt {name} {' '.join(subckt_ports(circuit))}", *head[first:], *body,
            f".ends {name}"]
