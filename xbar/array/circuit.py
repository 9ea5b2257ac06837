"""The one circuit description of a crossbar, shared by the netlist writer and every solver.

A :class:`Circuit` is arrays, not an object per element: nodes are integers
(0 is ground), resistors come in named groups of (node a, node b, ohm) arrays,
and the compound devices are one block of [rows, cols] terminal nodes with
[rows, cols, cells] cell resistances. Node and element names derive from indices
through :func:`node_name` alone, so ngspice's node ``c3_4`` and the native
solver's node for column 4 at row 3 are always the same point.

Ideal (zero-ohm) wires, drivers and access paths are contracted: their two
ends become one node, named after the end that comes first in
:data:`NODE_KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from xbar.array.crossbar import Crossbar
from xbar.device.access import TNOM_C, AccessTransistor
from xbar.device.access_card import SpiceAccessModel
from xbar.device.temperature import WIRE_TCR_PER_K, check_temperature, wire_factor
from xbar.util.errors import CircuitError, ParameterError
from xbar.util.validate import instance, int_array, real, real_array

#: Node kinds in naming priority order: (prefix, meaning). Indices follow the prefix,
#: joined by "_": ``in3`` source of row 3, ``r3_4`` row wire at cell (3, 4).
NODE_KINDS = (
    ("in", "row source terminal, [rows]"),
    ("d", "row driver output, [rows]"),
    ("r", "row wire at a cell, [rows, cols]"),
    ("t", "device top electrode, [rows, cols]"),
    ("c", "column wire at a cell, [rows, cols]"),
    ("o", "column sense node, [cols]"),
)


@dataclass(frozen=True)
class ResistorGroup:
    """Resistors of one kind. Element k is named ``prefix`` + "_".join(index[k]).

    ``index`` [m, d] ints, ``a``/``b`` [m] node ids, ``ohm`` [m] resistances (at the circuit's
    temperature: what every solver uses). ``tc1_per_k``: SPICE's first-order temperature
    coefficient; the netlist then writes ``nominal_ohm`` (at 27 C) with ``tc1=`` and ``.temp``.
    """

    prefix: str
    title: str
    index: np.ndarray
    a: np.ndarray
    b: np.ndarray
    ohm: np.ndarray
    tc1_per_k: float = 0.0
    nominal_ohm: np.ndarray | None = None

    def __post_init__(self):
        _check_group(self, "ohm")
        object.__setattr__(self, "tc1_per_k", real(f"{self.prefix} tc1", self.tc1_per_k, low=-0.1, high=0.1))
        if self.nominal_ohm is not None:
            object.__setattr__(self, "nominal_ohm", real_array(f"{self.prefix} nominal_ohm", self.nominal_ohm, 1))


def _check_group(group, values: str) -> None:
    """Check and coerce a resistor or capacitor group's fields; prefix and title reach netlist text,
    so only a letter-led name and one printable line pass."""
    kind = type(group).__name__
    if not (isinstance(group.prefix, str) and group.prefix.isascii() and group.prefix.isalnum()
            and group.prefix[:1].isalpha()):
        raise ParameterError(f"{kind} prefix must be letters and digits, got {group.prefix!r}")
    if not (isinstance(group.title, str) and group.title.isascii() and group.title.isprintable()
            and 0 < len(group.title) <= 120):
        raise ParameterError(f"{kind} title must be one printable ASCII line, got {group.title!r}")
    object.__setattr__(group, "index", int_array(f"{group.prefix} index", group.index, 2))
    object.__setattr__(group, "a", int_array(f"{group.prefix} node a", group.a, 1))
    object.__setattr__(group, "b", int_array(f"{group.prefix} node b", group.b, 1))
    object.__setattr__(group, values, real_array(f"{group.prefix} {values}", getattr(group, values), 1,
                                                 finite=False))


@dataclass(frozen=True)
class CapacitorGroup:
    """Capacitors of one kind, like :class:`ResistorGroup`: ``a``/``b`` [m] node ids, ``farad`` [m]."""

    prefix: str
    title: str
    index: np.ndarray
    a: np.ndarray
    b: np.ndarray
    farad: np.ndarray

    def __post_init__(self):
        _check_group(self, "farad")


@dataclass(frozen=True)
class Circuit:
    """A crossbar as nodes, resistor groups, compound devices and grounded sources.

    Shapes: ``input_nodes`` [rows] (source i sets that node to input i),
    ``sense_nodes`` [cols] (held at 0 V by the TIA; empty for resistor sensing),
    ``output_nodes`` [cols], ``device_top``/``device_read`` [rows, cols],
    ``cell_ohm`` [rows, cols, cells], where +inf is an open cell: no element is
    there (the native solver gives it zero conductance, the netlist omits it).
    ``channel_segment_ohm`` is one channel segment (0 for an ideal channel); the
    channel itself is never open. A device whose cells are all open carries no
    current; its top electrode still hangs on the row wire through the access
    path (or is that row-wire node), so it never floats. ``node_labels`` [n_nodes, 3] holds each
    node's (kind, i, j) with j = -1 for one-index kinds; row 0 is ground.
    ``capacitors``: wire and sense-node capacitances to ground;
    ``cell_farad``: each MTJ cell's junction capacitance, across the cell
    (top electrode to its channel node). Only transients see capacitances.
    """

    crossbar: Crossbar
    node_labels: np.ndarray
    resistors: tuple[ResistorGroup, ...]
    input_nodes: np.ndarray
    sense_nodes: np.ndarray
    output_nodes: np.ndarray
    device_top: np.ndarray
    device_read: np.ndarray
    cell_ohm: np.ndarray
    channel_segment_ohm: float
    capacitors: tuple[CapacitorGroup, ...] = ()
    cell_farad: float = 0.0
    #: Non-linear junctions (:func:`xbar.device.junction.junction_current`): each cell's R_P
    #: [rows, cols, cells] (``cell_ohm`` is then the zero-bias resistance) and the MTJ's
    #: V_h in volt; infinity is a linear circuit.
    cell_rp_ohm: np.ndarray | None = None
    v_half_volt: float = np.inf
    #: The read transistor in series with each device (between its read terminal and the column
    #: wire, gate on the row's word line), None for none; and the temperature in C (None: 27 C,
    #: no temperature model written).
    access: AccessTransistor | None = None
    temperature_c: float | None = None
    access_model: SpiceAccessModel | None = None

    @property
    def junctions_nonlinear(self) -> bool:
        """True when some cell's resistance depends on its bias (finite V_h and a conducting cell above R_P)."""
        return (bool(np.isfinite(self.v_half_volt)) and self.cell_rp_ohm is not None
                and bool(((self.cell_ohm > self.cell_rp_ohm) & np.isfinite(self.cell_ohm)).any()))

    @property
    def nonlinear(self) -> bool:
        """True when the circuit has a non-linear element: a bias-dependent junction or an access transistor."""
        return self.access is not None or self.junctions_nonlinear

    @property
    def temp_c(self) -> float:
        """The operating temperature in C (SPICE's nominal 27 C when none is set)."""
        return TNOM_C if self.temperature_c is None else self.temperature_c

    def __post_init__(self):
        # Checked types only (every value here can reach netlist text); structure is check_circuit's.
        instance("crossbar", self.crossbar, Crossbar)
        object.__setattr__(self, "node_labels", int_array("node_labels", self.node_labels, 2))
        if not isinstance(self.resistors, tuple) or not all(isinstance(g, ResistorGroup) for g in self.resistors):
            raise ParameterError("resistors must be a tuple of ResistorGroup")
        for name, ndim in (("input_nodes", 1), ("sense_nodes", 1), ("output_nodes", 1), ("device_top", 2),
                           ("device_read", 2)):
            object.__setattr__(self, name, int_array(name, getattr(self, name), ndim))
        object.__setattr__(self, "cell_ohm", real_array("cell_ohm", self.cell_ohm, 3, finite=False))
        object.__setattr__(self, "channel_segment_ohm",
                           real("channel_segment_ohm", self.channel_segment_ohm, low=0.0))
        if not isinstance(self.capacitors, tuple) or not all(isinstance(g, CapacitorGroup) for g in self.capacitors):
            raise ParameterError("capacitors must be a tuple of CapacitorGroup")
        object.__setattr__(self, "cell_farad", real("cell_farad", self.cell_farad, low=0.0))
        if self.cell_rp_ohm is not None:
            object.__setattr__(self, "cell_rp_ohm", real_array("cell_rp_ohm", self.cell_rp_ohm, 3, finite=False))
        if isinstance(self.v_half_volt, (str, bytes, bool, np.bool_)) or not isinstance(
                self.v_half_volt, (int, float, np.integer, np.floating)) or not self.v_half_volt > 0:
            raise ParameterError(f"v_half_volt must be a voltage > 0 (inf: linear), got {self.v_half_volt!r}")
        object.__setattr__(self, "v_half_volt", float(self.v_half_volt))
        if self.access is not None:
            instance("access", self.access, AccessTransistor)
        if self.access_model is not None:
            instance("access_model", self.access_model, SpiceAccessModel)
            if self.access is None:
                raise ParameterError("a circuit with an access_model needs its access transistor (geometry)")
        if self.temperature_c is not None:
            object.__setattr__(self, "temperature_c", check_temperature(self.temperature_c))

    @property
    def n_nodes(self) -> int:
        """Number of nodes, ground (node 0) included."""
        return len(self.node_labels)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the crossbar."""
        return self.crossbar.shape

    @property
    def sense(self) -> str:
        """The crossbar's sense mode: ``tia`` or ``resistor``."""
        return self.crossbar.sense

    def node_names(self) -> list[str]:
        """Names of all nodes, index = node id; ``"0"`` is ground."""
        names = np.empty(self.n_nodes, dtype=object)
        names[0] = "0"
        kinds = self.node_labels[:, 0]
        for k, (prefix, _) in enumerate(NODE_KINDS):
            sel = np.flatnonzero(kinds == k)
            i, j = self.node_labels[sel, 1].tolist(), self.node_labels[sel, 2].tolist()
            names[sel] = [f"{prefix}{a}" if b < 0 else f"{prefix}{a}_{b}" for a, b in zip(i, j)]
        return names.tolist()


def node_name(kind: int, i: int, j: int) -> str:
    """The name of node (kind, i, j); kind indexes :data:`NODE_KINDS`, -1 is ground."""
    if kind < 0:
        return "0"
    prefix = NODE_KINDS[kind][0]
    return f"{prefix}{i}" if j < 0 else f"{prefix}{i}_{j}"


def build_circuit(xbar: Crossbar, check: bool = True) -> Circuit:
    """The circuit of ``xbar``; with ``check`` it also runs :func:`check_circuit`."""
    rows, cols = xbar.shape
    ii, jj = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    one_row, one_col = np.arange(rows), np.arange(cols)

    # Raw nodes, one block per kind in NODE_KINDS order; raw id 0 is ground.
    shapes = [(rows,), (rows,), (rows, cols), (rows, cols), (rows, cols), (cols,)]
    offsets = np.cumsum([1] + [int(np.prod(s)) for s in shapes])
    blocks = [offsets[k] + np.arange(np.prod(s)).reshape(s) for k, s in enumerate(shapes)]
    n_in, n_d, n_r, n_t, n_c, n_o = blocks
    labels = np.full((offsets[-1], 3), -1, dtype=np.int64)
    for k, (blk, s) in enumerate(zip(blocks, shapes)):
        idx = np.indices(s).reshape(len(s), -1).T
        labels[blk.ravel(), 0] = k
        labels[blk.ravel(), 1:1 + len(s)] = idx

    # Two-terminal resistors (a, b, ohm, index) per group, before contraction.
    prev_r = np.concatenate([n_d[:, None], n_r[:, :-1]], axis=1)
    next_c = np.concatenate([n_c[1:, :], n_o[None, :]], axis=0)
    groups = [
        ("Rdrv", "row drivers", one_row[:, None], n_in, n_d, xbar.driver_ohm),
        ("Rr", "row wire segments (driver side of each cell)",
         np.stack([ii.ravel(), jj.ravel()], 1), prev_r.ravel(), n_r.ravel(), xbar.row_wire_ohm),
        ("Ra", "device access", np.stack([ii.ravel(), jj.ravel()], 1), n_r.ravel(), n_t.ravel(),
         xbar.access_ohm),
        ("Rc", "column wire segments (sense side of each cell)",
         np.stack([ii.ravel(), jj.ravel()], 1), n_c.ravel(), next_c.ravel(), xbar.col_wire_ohm),
    ]
    if xbar.sense == "resistor":
        groups.append(("Rref", "sense reference resistors", one_col[:, None], n_o,
                       np.zeros(cols, dtype=np.int64), xbar.ref_ohm))

    # Contract ideal connections: union of all zero-ohm resistors.
    n_raw = offsets[-1]
    zero = [(a, b) for *_, a, b, ohm in groups if ohm == 0]
    if zero:
        za = np.concatenate([z[0] for z in zero])
        zb = np.concatenate([z[1] for z in zero])
        graph = coo_matrix((np.ones(len(za)), (za, zb)), shape=(n_raw, n_raw))
        _, comp = connected_components(graph, directed=False)
    else:
        comp = np.arange(n_raw)
    # Each component is named after its smallest raw id; number components by that id.
    rep = np.full(comp.max() + 1, n_raw)
    np.minimum.at(rep, comp, np.arange(n_raw))
    order = np.argsort(rep)
    new_id = np.empty_like(order)
    new_id[order] = np.arange(len(order))
    node_of = new_id[comp]
    node_labels = labels[rep[order]]

    resistors = tuple(_resistor_group(xbar.temperature_c, prefix, title, np.asarray(index), node_of[a], node_of[b],
                                      float(ohm))
                      for prefix, title, index, a, b, ohm in groups if ohm > 0)

    cap = xbar.capacitance
    zeros = np.zeros(rows * cols, dtype=np.int64)
    cap_groups = [
        ("Cr", "row wire capacitance (one segment, at its cell)", np.stack([ii.ravel(), jj.ravel()], 1),
         n_r.ravel(), zeros, cap.row_segment_farad(xbar.n_cells)),
        ("Cc", "column wire capacitance (one segment, at its cell)", np.stack([ii.ravel(), jj.ravel()], 1),
         n_c.ravel(), zeros, cap.col_segment_farad()),
        ("Co", "sense-node capacitance", one_col[:, None], n_o, np.zeros(cols, dtype=np.int64), cap.sense_farad),
    ]
    capacitors = tuple(
        CapacitorGroup(prefix, title, np.asarray(index), node_of[a], node_of[b], np.full(len(a), float(farad)))
        for prefix, title, index, a, b, farad in cap_groups if farad > 0)

    circuit = Circuit(
        crossbar=xbar,
        node_labels=node_labels,
        resistors=resistors,
        input_nodes=node_of[n_in],
        sense_nodes=node_of[n_o] if xbar.sense == "tia" else np.zeros(0, dtype=np.int64),
        output_nodes=node_of[n_o],
        device_top=node_of[n_t],
        device_read=node_of[n_c],
        cell_ohm=np.array(xbar.cell_resistance_ohm),
        channel_segment_ohm=xbar.channel_segment_ohm(),
        capacitors=capacitors,
        cell_farad=cap.cell_farad(),
        cell_rp_ohm=xbar.cell_rp_ohm(),
        v_half_volt=xbar.device.mtj.v_half_volt,
        access=xbar.access,
        temperature_c=xbar.temperature_c,
        access_model=xbar.access_model,
    )
    if check:
        check_circuit(circuit)
    return circuit


#: Resistor groups that are metal wire segments: they carry the wire temperature coefficient.
WIRE_GROUPS = ("Rr", "Rc")


def _resistor_group(temp_c: float | None, prefix: str, title: str, index, a, b, ohm: float) -> ResistorGroup:
    """One group of equal resistors; wire segments at ``temp_c`` carry their tc1 (none without a temperature)."""
    nominal = np.full(len(a), ohm)
    if temp_c is None or prefix not in WIRE_GROUPS:
        return ResistorGroup(prefix, title, index, a, b, nominal)
    return ResistorGroup(prefix, title, index, a, b, nominal * wire_factor(temp_c), WIRE_TCR_PER_K, nominal)


def check_circuit(circuit: Circuit) -> None:
    """Raise :class:`CircuitError` unless every resistance is valid and every node reaches ground.

    Resistors must be finite and > 0; cells > 0 or +inf (open). Sources count as
    connections to ground. Internal device nodes hang off the top electrode
    through a cell or the channel, so they are covered by the device's resistances.
    Connectivity comes from ``scipy.sparse.csgraph`` (linear time on arrays; a
    networkx graph of a 784x128 array took 0.65 s, of a 1024x1024 one 8-13 s).
    """
    for g in circuit.resistors:
        bad = ~(np.isfinite(g.ohm) & (g.ohm > 0))
        if bad.any():
            k = int(np.argmax(bad))
            raise CircuitError(f"resistor {g.prefix}{'_'.join(map(str, g.index[k]))} has invalid "
                               f"resistance {g.ohm[k].item()!r} ohm (must be finite and > 0)")
    bad = ~(circuit.cell_ohm > 0)
    if bad.any():
        i, j, k = np.argwhere(bad)[0]
        raise CircuitError(f"MTJ cell {k} of device ({i}, {j}) has invalid resistance "
                           f"{circuit.cell_ohm[i, j, k].item()!r} ohm (must be > 0; inf: an open cell)")
    if not (np.isfinite(circuit.channel_segment_ohm) and circuit.channel_segment_ohm >= 0):
        raise CircuitError(f"channel segment resistance {circuit.channel_segment_ohm!r} ohm is invalid")

    edges = [(g.a, g.b) for g in circuit.resistors]
    conducting = np.isfinite(circuit.cell_ohm).any(axis=2)
    edges.append((circuit.device_top[conducting], circuit.device_read[conducting]))
    sources = np.concatenate([circuit.input_nodes, circuit.sense_nodes])
    edges.append((sources, np.zeros_like(sources)))
    a = np.concatenate([e[0] for e in edges]).astype(np.int64)
    b = np.concatenate([e[1] for e in edges]).astype(np.int64)
    loops = a[a == b]
    if len(loops):
        raise CircuitError(f"element shorted on itself at node {node_name(*circuit.node_labels[loops.min()])}")
    n = circuit.n_nodes
    _, comp = connected_components(coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n)),
                                   directed=False)
    floating = np.flatnonzero(comp != comp[0])
    if len(floating):
        island = np.flatnonzero(comp == comp[floating[0]])
        names = ", ".join(node_name(*circuit.node_labels[k]) for k in island[:5])
        raise CircuitError(f"{len(island)} node(s) float with no path to ground, e.g. {names}")


def as_circuit(obj: Circuit | Crossbar) -> Circuit:
    """``obj`` if it is a Circuit, its built and checked circuit if it is a Crossbar; else a ParameterError."""
    if isinstance(obj, Circuit):
        return obj
    if isinstance(obj, Crossbar):
        return build_circuit(obj)
    raise ParameterError(f"expected a Crossbar or a Circuit, got {type(obj).__name__}")


def check_inputs(inputs, rows: int) -> np.ndarray:
    """Row voltages as a float array [batch, rows]; a single vector [rows] becomes a batch of one.

    Real numbers only: complex voltages are refused (not stripped of their imaginary
    part), and so are bools, strings and non-finite values.
    """
    if isinstance(inputs, (str, bytes)):
        raise ParameterError("inputs must be numeric row voltages, got a string")
    try:
        x = np.asarray(inputs)
    except (TypeError, ValueError):
        raise ParameterError("inputs must be numeric row voltages") from None
    if x.dtype.kind == "c" or (x.dtype.kind == "O" and any(isinstance(v, complex) for v in x.flat)):
        raise ParameterError("inputs must be real row voltages; complex values are refused, not truncated")
    if x.dtype.kind not in "iufO":
        raise ParameterError(f"inputs must be numeric row voltages, got {x.dtype} values")
    try:
        x = x.astype(float)
    except (TypeError, ValueError):
        raise ParameterError("inputs must be numeric row voltages") from None
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != rows:
        raise ParameterError(f"inputs must have shape [batch, {rows}] (one voltage per row), "
                             f"got {list(np.shape(inputs))}")
    if not x.shape[0]:
        raise ParameterError(f"inputs hold no vectors (shape {list(np.shape(inputs))})")
    if not np.isfinite(x).all():
        b, r = np.argwhere(~np.isfinite(x))[0]
        raise ParameterError(f"input voltage at batch {b}, row {r} is {x[b, r].item()!r}; inputs must be finite")
    return x
