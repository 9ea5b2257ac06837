"""The write path of one compound SOT-MTJ as a circuit: driver, channel segments, junctions, read side.

A write pulse drives the shared Pt/Ta channel from a source through the write
driver's resistance; the far channel end (the read terminal, where cell 0
sits, as in :class:`xbar.array.crossbar.Crossbar`) returns to ground through
``return_ohm``. The channel is n + 1 equal segments with the cells between them
(the read model's geometry). Each cell's junction joins its channel node to the
device's common top electrode, which the array ties to its row wire: during a
write that read-side connection (``read_side_ohm`` to ground, None when it
floats) lets part of the write current leak through the junctions.

Like :class:`xbar.array.circuit.Circuit` the description is arrays: named nodes
(0 is ground) and :class:`~xbar.array.circuit.ResistorGroup` s, read by the native
write solver and by the ngspice netlist writer below. Node names: ``win``
source, ``wa`` channel driver end, ``h<k>`` channel under cell k, ``wb``
channel read end, ``wt`` top electrode. Zero driver or return resistance merges
the two ends into one node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xbar.array.circuit import ResistorGroup
from xbar.array.crossbar import nonnegative_ohm
from xbar.device.compound import CompoundMTJ
from xbar.util.errors import ParameterError
from xbar.array.netlist import format_number, safe_title
from xbar.util.validate import instance, int_array, integer, real


@dataclass(frozen=True)
class WritePath:
    """The periphery of a write: resistances in ohm, pulse edges in seconds.

    ``driver_ohm`` the write driver's output resistance (assumed 50 ohm, a
    pulse generator's output as in the paper's set-up); ``return_ohm`` the
    switch returning the channel's far end to ground; ``read_side_ohm`` from the
    top electrode to ground through the row wire (None: floating);
    ``rise_s``/``fall_s`` linear pulse edges (assumed 5 ns).
    """

    driver_ohm: float = 50.0               # assumed: a pulse generator's output, as in the paper's set-up
    return_ohm: float = 0.0                # assumed ideal return switch
    read_side_ohm: float | None = 1e4      # assumed: top electrode to ground through the row wire
    rise_s: float = 5e-9                   # assumed linear pulse edge
    fall_s: float = 5e-9                   # assumed linear pulse edge

    def __post_init__(self):
        for name in ("driver_ohm", "return_ohm"):
            object.__setattr__(self, name, nonnegative_ohm(name, getattr(self, name)))
        try:
            object.__setattr__(self, "read_side_ohm", real("read_side_ohm", self.read_side_ohm, above=0.0, none=True))
        except ParameterError:
            raise ParameterError(f"read_side_ohm must be a finite resistance > 0 ohm or None, "
                                 f"got {self.read_side_ohm!r}") from None
        for name in ("rise_s", "fall_s"):
            try:
                object.__setattr__(self, name, real(name, getattr(self, name), above=0.0))
            except ParameterError:
                raise ParameterError(f"{name} must be a finite time > 0 s, got {getattr(self, name)!r}") from None


@dataclass(frozen=True)
class WriteCircuit:
    """One device's write circuit. ``node_names`` [n_nodes] (index 0 is ground "0");
    ``resistors`` with per-element ohm; ``source`` the driven node; ``channel``
    [n + 2] the channel's nodes from driver end to read end (ground when the
    return is ideal); ``cells`` [n] the channel node under each cell; ``top`` the
    top electrode; ``junction_group`` the index of the junction group in ``resistors``.
    """

    device: CompoundMTJ
    path: WritePath
    node_names: tuple[str, ...]
    resistors: tuple[ResistorGroup, ...]
    source: int
    channel: np.ndarray
    cells: np.ndarray
    top: int
    junction_group: int

    def __post_init__(self):
        # node names reach netlist text: index-built names only (letters, digits, "_").
        instance("device", self.device, CompoundMTJ)
        instance("path", self.path, WritePath)
        if not isinstance(self.node_names, tuple) or not all(
                isinstance(n, str) and n.isascii() and (n == "0" or n.isidentifier()) for n in self.node_names):
            raise ParameterError("write-circuit node names must be a tuple of index-built names (letters, "
                                 "digits, _)")
        if not isinstance(self.resistors, tuple) or not all(isinstance(g, ResistorGroup) for g in self.resistors):
            raise ParameterError("resistors must be a tuple of ResistorGroup")
        for name in ("source", "top", "junction_group"):
            object.__setattr__(self, name, integer(name, getattr(self, name), low=0))
        object.__setattr__(self, "channel", int_array("channel", self.channel, 1))
        object.__setattr__(self, "cells", int_array("cells", self.cells, 1))

    @property
    def n_nodes(self) -> int:
        """Number of nodes, ground (0) included."""
        return len(self.node_names)

    def with_junctions(self, junction_ohm) -> "WriteCircuit":
        """The same circuit with the junction resistances ``junction_ohm`` [n] (ohm)."""
        r = np.asarray(junction_ohm, dtype=float)
        if r.shape != (self.device.n_cells,) or not (np.isfinite(r) & (r > 0)).all():
            raise ParameterError(f"junction resistances must be {self.device.n_cells} finite values > 0 ohm")
        groups = list(self.resistors)
        g = groups[self.junction_group]
        groups[self.junction_group] = ResistorGroup(g.prefix, g.title, g.index, g.a, g.b, r.copy())
        return WriteCircuit(self.device, self.path, self.node_names, tuple(groups), self.source,
                            self.channel, self.cells, self.top, self.junction_group)


def build_write_circuit(device: CompoundMTJ, path: WritePath | None = None, cells_p=None) -> WriteCircuit:
    """The write circuit of ``device``; ``cells_p`` [n] bools (True: parallel) set the junctions (default all AP)."""
    path = path or WritePath()
    n = device.n_cells
    if device.channel_ohm <= 0:
        raise ParameterError("a write needs a channel of resistance > 0 ohm")
    names = ["0"]

    def node(name: str) -> int:
        names.append(name)
        return len(names) - 1

    src = node("win")
    a = node("wa") if path.driver_ohm > 0 else src
    h = np.array([node(f"h{k}") for k in range(n)])
    b = node("wb") if path.return_ohm > 0 else 0
    top = node("wt")
    seg = device.channel_ohm / (n + 1)
    chain = np.concatenate([[a], h[::-1], [b]])
    groups = []
    if path.driver_ohm > 0:
        groups.append(ResistorGroup("Rwd", "write driver", np.array([[0]]), np.array([src]), np.array([a]),
                                    np.array([path.driver_ohm])))
    groups.append(ResistorGroup("Rwch", "channel segments, driver end to read end", np.arange(n + 1)[:, None],
                                chain[:-1], chain[1:], np.full(n + 1, seg)))
    if path.return_ohm > 0:
        groups.append(ResistorGroup("Rwr", "return switch", np.array([[0]]), np.array([b]), np.array([0]),
                                    np.array([path.return_ohm])))
    p = np.zeros(n, dtype=bool) if cells_p is None else np.asarray(cells_p, dtype=bool)
    if p.shape != (n,):
        raise ParameterError(f"cells_p must hold {n} flags, got shape {list(p.shape)}")
    junction = len(groups)
    groups.append(ResistorGroup("Rwj", "junctions, channel node to top electrode", np.arange(n)[:, None], h,
                                np.full(n, top), np.where(p, device.cell_r_p(), device.cell_r_ap())))
    if path.read_side_ohm is not None:
        groups.append(ResistorGroup("Rwl", "read side: top electrode to the row wire at 0 V", np.array([[0]]),
                                    np.array([top]), np.array([0]), np.array([path.read_side_ohm])))
    return WriteCircuit(device, path, tuple(names), tuple(groups), src, chain, h, top, junction)


def pulse_points(amplitude_v: float, width_s: float, path: WritePath) -> np.ndarray:
    """Corner points [4, 2] (time s, volt) of the trapezoidal pulse: rise, ``width_s`` flat, fall."""
    t1 = path.rise_s
    t2 = t1 + float(width_s)
    return np.array([[0.0, 0.0], [t1, amplitude_v], [t2, amplitude_v], [t2 + path.fall_s, 0.0]])


def write_netlist_text(circuit: WriteCircuit, amplitude_v: float, width_s: float, title: str | None = None) -> str:
    """ngspice netlist of one write pulse: the circuit, a PWL source ``Vw`` and no analysis line.

    The caller appends its ``.control`` section (``tran`` and ``write``).
    """
    for name, value in (("amplitude_v", amplitude_v), ("width_s", width_s)):
        if not np.isfinite(float(value)):
            raise ParameterError(f"{name} must be finite, got {value!r}")
    if width_s <= 0:
        raise ParameterError(f"width_s must be > 0 s, got {width_s!r}")
    dev = circuit.device
    pwl = " ".join(f"{format_number(t)} {format_number(v)}"
                   for t, v in pulse_points(amplitude_v, width_s, circuit.path))
    lines = [f"* {safe_title(title) if title else 'xbar write pulse'}",
             f"* {dev.n_cells}-cell compound SOT-MTJ write path: mean R_P {dev.mtj.r_p:.6g} ohm, "
             f"R_AP {dev.mtj.r_ap:.6g} ohm, channel {dev.channel_ohm:.6g} ohm",
             f"Vw {circuit.node_names[circuit.source]} 0 PWL({pwl})"]
    for g in circuit.resistors:
        lines.append(f"* {g.title}")
        lines.extend(f"{g.prefix}{'_'.join(map(str, idx))} {circuit.node_names[x]} {circuit.node_names[y]} "
                     f"{format_number(r)}"
                     for idx, x, y, r in zip(g.index.tolist(), g.a.tolist(), g.b.tolist(), g.ohm.tolist()))
    lines.append(".options klu")
    return "\n".join(lines) + "\n"
