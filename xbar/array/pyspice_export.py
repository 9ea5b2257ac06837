"""A crossbar circuit as a PySpice ``Circuit``, for designers who add their own periphery in PySpice.

:func:`to_pyspice` builds the same elements, names and numbers as
:func:`xbar.array.netlist.netlist_text` (row sources ``V<i>``, resistor groups,
compound devices ``X<i>_<j>`` of one subcircuit, TIA sources ``Vs<j>``), so
``str(to_pyspice(c))`` simulates to the same outputs: ``i(vs<j>)`` for TIA
sensing, ``v(o<j>)`` for a reference resistor. Numbers pass as Python floats,
which PySpice writes in their round-trip form.

Cost: PySpice keeps one Python object per element, about 5 elements per
device. Measured here (2 shared cores): 32x32 in 0.4 s, 128x128 in 6 s;
it grows linearly, so 784x256 (about a million elements) takes minutes and
gigabytes. At that size prefer :func:`xbar.array.netlist.write_netlist` and
``.include`` the file in the PySpice circuit.
"""

from __future__ import annotations

import numpy as np

from xbar.array.circuit import Circuit, build_circuit
from xbar.array.crossbar import Crossbar
from xbar.util.errors import SolverError
from xbar.array.netlist import safe_title, subckt_name


def to_pyspice(circuit: Circuit | Crossbar, inputs=None, title: str | None = None):
    """The ``PySpice.Spice.Netlist.Circuit`` of ``circuit``; ``inputs`` [rows] set the row sources (default 0 V)."""
    try:
        from PySpice.Spice.Netlist import Circuit as SpiceCircuit
        from PySpice.Spice.Netlist import SubCircuit
    except ImportError:
        raise SolverError("PySpice is not installed: pip install PySpice") from None
    from xbar.array.circuit import check_inputs
    if isinstance(circuit, Crossbar):
        circuit = build_circuit(circuit)
    xbar = circuit.crossbar
    rows, cols = circuit.shape
    n = xbar.n_cells
    x = np.zeros(rows) if inputs is None else check_inputs(inputs, rows)[0]
    names = circuit.node_names()
    spice = SpiceCircuit(safe_title(title) if title else "xbar crossbar")
    channel = circuit.channel_segment_ohm > 0
    spice.parameter("rseg", float(circuit.channel_segment_ohm))
    sub = SubCircuit(subckt_name(n, channel), "top", "rd", **{f"rc{k}": 1 for k in range(n)})
    for k in range(n):
        sub.R(f"cell{k}", "top", f"h{k}" if channel else "rd", f"{{rc{k}}}")
    if channel:
        for k in range(n):
            sub.R(f"ch{k}", f"h{k}", f"h{k - 1}" if k else "rd", "{rseg}")
    spice.subcircuit(sub)
    for i, (node, v) in enumerate(zip(circuit.input_nodes.tolist(), x.tolist())):
        spice.V(str(i), names[node], spice.gnd, v)
    for g in circuit.resistors:
        labels = ["_".join(map(str, idx)) for idx in g.index.tolist()]
        for lab, a, b, r in zip(labels, g.a.tolist(), g.b.tolist(), g.ohm.tolist()):
            spice.R(g.prefix[1:] + lab, names[a], names[b], r)
    cells = circuit.cell_ohm.reshape(-1, n).tolist()
    top, read = circuit.device_top.ravel().tolist(), circuit.device_read.ravel().tolist()
    for d, (t, r, rc) in enumerate(zip(top, read, cells)):
        spice.X(f"{d // cols}_{d % cols}", sub.name, names[t], names[r], **{f"rc{k}": v for k, v in enumerate(rc)})
    if xbar.sense == "tia":
        for j, node in enumerate(circuit.sense_nodes.tolist()):
            spice.V(f"s{j}", names[node], spice.gnd, 0.0)
    spice.raw_spice = ".options klu"
    return spice
