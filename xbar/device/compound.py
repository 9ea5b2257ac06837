"""The compound SOT-MTJ: ``n`` MTJ cells on one shared Pt/Ta write channel, read in parallel.

Their top electrodes are tied together, so a read sees the cells in parallel,
1/R = sum 1/R_i (paper, section D). With ``k`` of the ``n`` cells in the parallel (P)
state the device has conductance ``G_k = k / R_P + (n - k) / R_AP``, giving ``n + 1``
read states, k = 0..n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xbar.util.errors import ParameterError
from xbar.util.ranges import check, param
from xbar.util.validate import instance
from xbar.device.junction import MTJ, check_v_half


#: Write-channel resistance model, ohm: R_ch(n) = CHANNEL_BASE_OHM + CHANNEL_PER_CELL_OHM * n.
#: The paper measures ~300 ohm for the 1-cell channel and ~600 ohm for the 3-cell
#: channel (section D); the straight line through both gives a 150 ohm fixed part
#: (contacts and the two channel ends) plus 150 ohm per cell pitch.
CHANNEL_BASE_OHM = 150.0
CHANNEL_PER_CELL_OHM = 150.0

#: Most cells per compound device the tool models (the paper's contours go to 6).
MAX_CELLS = int(param("n_cells").high)


def channel_resistance(n_cells: int) -> float:
    """Total write-channel resistance in ohm of an ``n_cells`` compound device.

    Linear in the number of cells, through the paper's two measured points:
    300 ohm for 1 cell and 600 ohm for 3 cells.
    """
    return CHANNEL_BASE_OHM + CHANNEL_PER_CELL_OHM * n_cells


@dataclass(frozen=True)
class CompoundMTJ:
    """``n_cells`` MTJ cells on one shared SOT write channel.

    ``channel_ohm`` is the whole channel's resistance; by default it follows
    :func:`channel_resistance`. Set it to 0 to model an ideal channel.

    The cells are identical copies of ``mtj`` unless ``cells`` gives each cell
    its own MTJ (cell 0 nearest the read terminal), as for cells of different
    sizes or a measured-state device (:meth:`from_state_resistances`); build
    those with :meth:`heterogeneous`, which sets ``mtj`` to the cells' mean
    (per-cell parallel-equivalent R_P and R_AP, so n/R_P = sum 1/R_P,i).
    ``state_sigma`` (optional, one per state) is a measured device-to-device
    ln-spread of each state's resistance: a device in state k has all its cells
    scaled by one factor exp(N(0, state_sigma[k]^2)).
    """

    mtj: MTJ
    n_cells: int = 1
    channel_ohm: float | None = None
    cells: tuple[MTJ, ...] | None = None
    state_sigma: tuple[float, ...] | None = None

    def __post_init__(self):
        instance("mtj", self.mtj, MTJ)
        object.__setattr__(self, "n_cells", check("n_cells", self.n_cells))
        if self.cells is not None:
            if isinstance(self.cells, (str, bytes)) or not hasattr(self.cells, "__iter__"):
                raise ParameterError(f"cells must be {self.n_cells} MTJs, one per cell, got {self.cells!r}")
            cells = tuple(self.cells)
            if len(cells) != self.n_cells or not all(isinstance(c, MTJ) for c in cells):
                raise ParameterError(f"cells must be {self.n_cells} MTJs, one per cell")
            object.__setattr__(self, "cells", cells)
        if self.state_sigma is not None:
            sig = self.state_sigma
            if isinstance(sig, (str, bytes)) or not hasattr(sig, "__len__") or len(sig) != self.n_cells + 1:
                raise ParameterError(f"state_sigma must be {self.n_cells + 1} spreads, one per state")
            object.__setattr__(self, "state_sigma",
                               tuple(check("state_sigma", v, f"state_sigma[{k}]") for k, v in enumerate(sig)))
        if self.channel_ohm is None:
            object.__setattr__(self, "channel_ohm", channel_resistance(self.n_cells))
        object.__setattr__(self, "channel_ohm", check("channel_ohm", self.channel_ohm))

    @classmethod
    def heterogeneous(cls, cells, channel_ohm: float | None = None) -> "CompoundMTJ":
        """A device whose cells differ: ``cells`` one MTJ per cell, cell 0 nearest the read terminal."""
        cells = tuple(cells)
        if not 1 <= len(cells) <= MAX_CELLS or not all(isinstance(c, MTJ) for c in cells):
            raise ParameterError(f"a heterogeneous device needs 1..{MAX_CELLS} MTJ cells, got {len(cells)}")
        n = len(cells)
        if len({c.v_half_volt for c in cells}) > 1:
            raise ParameterError("the cells of one device must share one V_h (bias half-point)")
        mean = MTJ(r_p=n / sum(1.0 / c.r_p for c in cells), r_ap=n / sum(1.0 / c.r_ap for c in cells),
                   v_half_volt=cells[0].v_half_volt)
        return cls(mean, n, channel_ohm, cells)

    @classmethod
    def from_state_resistances(cls, state_ohm, channel_ohm: float | None = 0.0,
                               state_sigma=None) -> "CompoundMTJ":
        """A device that reads the measured resistance ``state_ohm[k]`` (ohm) in state k, k = 0..n.

        State 0 (all cells AP) has the highest resistance, state n the lowest. A
        measured-state device has no single R_P, so it is represented by n cells
        that differ: every cell has the same R_AP = n R_0 and cell i adds
        G_(i+1) - G_i when it switches to P (G_k = 1 / state_ohm[k]). With zero
        channel and wires the device then reads exactly the measured values; the
        circuit and netlist treat it like any other device (cells on the channel,
        see :mod:`xbar.array.circuit`). ``channel_ohm`` defaults to 0 because measured
        values already contain the channel's share of the read path.
        """
        r = np.asarray(state_ohm, dtype=float)
        if r.ndim != 1 or not 2 <= r.size <= MAX_CELLS + 1:
            raise ParameterError(f"state resistances must list 2..{MAX_CELLS + 1} states (1..{MAX_CELLS} cells), "
                                 f"got {r.size}")
        for k, v in enumerate(r):
            check("state_ohm", v, f"state {k} resistance")
        if np.any(np.diff(r) >= 0):
            k = int(np.argmax(np.diff(r) >= 0))
            raise ParameterError(f"state resistances must fall from state 0 (all AP) to state {r.size - 1} "
                                 f"(all P): state {k + 1} ({r[k + 1]:g} ohm) is not below state {k} ({r[k]:g} ohm)")
        g = 1.0 / r
        n = r.size - 1
        cells = [MTJ(r_p=1.0 / (g[0] / n + g[i + 1] - g[i]), r_ap=n / g[0]) for i in range(n)]
        dev = cls.heterogeneous(cells, channel_ohm)
        return cls(dev.mtj, n, dev.channel_ohm, dev.cells, None if state_sigma is None else tuple(state_sigma))

    def with_v_half(self, v_half_volt: float) -> "CompoundMTJ":
        """The same device with every cell's TMR bias half-point at ``v_half_volt`` (inf: linear)."""
        v = check_v_half(v_half_volt)

        def junction(m: MTJ) -> MTJ:
            return MTJ(m.r_p, m.r_ap, v)
        cells = None if self.cells is None else tuple(junction(c) for c in self.cells)
        return CompoundMTJ(junction(self.mtj), self.n_cells, self.channel_ohm, cells, self.state_sigma)

    @property
    def n_states(self) -> int:
        """Read states of the device: n_cells + 1."""
        return self.n_cells + 1

    def cell_r_p(self) -> np.ndarray:
        """Each cell's nominal R_P in ohm, shape [n_cells]."""
        return np.array([c.r_p for c in self.cells]) if self.cells else np.full(self.n_cells, self.mtj.r_p)

    def cell_r_ap(self) -> np.ndarray:
        """Each cell's nominal R_AP in ohm, shape [n_cells]."""
        return np.array([c.r_ap for c in self.cells]) if self.cells else np.full(self.n_cells, self.mtj.r_ap)

    def conductances(self) -> np.ndarray:
        """Read conductances G_k in siemens, shape [n_cells + 1], k = number of cells in P.

        State k has cells 0..k-1 in P (see :meth:`cell_states`). Cells only; the
        channel is part of the circuit, not of these ideal levels.
        """
        k = np.arange(self.n_cells + 1)
        if self.cells:
            g_p, g_ap = 1.0 / self.cell_r_p(), 1.0 / self.cell_r_ap()
            return np.concatenate([[0.0], np.cumsum(g_p)]) + g_ap.sum() - np.concatenate([[0.0], np.cumsum(g_ap)])
        return k / self.mtj.r_p + (self.n_cells - k) / self.mtj.r_ap

    def level_fractions(self) -> np.ndarray:
        """(G_k - G_0) / (G_n - G_0), shape [n_cells + 1]: 0..1, equal steps k/n for identical cells.

        The mapping's weight levels are built from these, so uneven (measured or
        multi-sized) states quantize onto where they really are.
        """
        if not self.cells:
            return np.arange(self.n_cells + 1) / self.n_cells
        g = self.conductances()
        return (g - g[0]) / (g[-1] - g[0])

    def resistances(self) -> np.ndarray:
        """Read resistances 1/G_k in ohm, shape [n_cells + 1], descending."""
        return 1.0 / self.conductances()

    def normalized_levels(self) -> np.ndarray:
        """G_k / G_max, shape [n_cells + 1], ascending, last entry 1.

        These are the quantization levels of the paper's Methods ("normalized
        conductance states"); with 1 cell and TMR 100 % they are 0.5 and 1.
        """
        g = self.conductances()
        return g / g[-1]

    def cell_states(self, state: np.ndarray) -> np.ndarray:
        """Expand device states k (any shape, ints 0..n) into per-cell P flags.

        Returns a bool array of shape ``state.shape + (n_cells,)``. Convention:
        state k puts cells 0..k-1 in P, where cell 0 sits nearest the channel's
        read terminal. The convention matters only when the channel has resistance.
        """
        state = np.asarray(state)
        bad = ~np.isfinite(state) | (state != np.round(state)) | (state < 0) | (state > self.n_cells)
        if bad.any():
            raise ParameterError(
                f"unknown device state {state[bad].flat[0].item()!r}: states of a {self.n_cells}-cell device are 0..{self.n_cells}")
        return np.arange(self.n_cells) < state[..., None]


def channel_matrix(cell_ohm: np.ndarray, segment_ohm: float) -> np.ndarray:
    """Nodal matrix [..., n, n] in siemens of each compound device's channel nodes (``segment_ohm`` > 0).

    Channel node k joins the top electrode through cell k (``cell_ohm`` [..., n]; inf: open)
    and its neighbours through one segment each; node 0's other segment goes to the read terminal.
    """
    n = cell_ohm.shape[-1]
    g_seg = 1.0 / segment_ohm
    a = np.zeros(cell_ohm.shape + (n,))
    k = np.arange(n)
    a[..., k, k] = 1.0 / cell_ohm + g_seg + np.where(k < n - 1, g_seg, 0.0)
    a[..., k[1:], k[:-1]] = -g_seg
    a[..., k[:-1], k[1:]] = -g_seg
    return a


def device_transfer(cell_ohm: np.ndarray, segment_ohm: float) -> tuple[np.ndarray, np.ndarray]:
    """Equivalent conductance and cell-voltage fractions of compound devices.

    ``cell_ohm`` [..., n] cell resistances; ``segment_ohm`` one channel segment.
    Returns ``g_eq`` [...] in siemens (current into the read terminal per volt
    across the device) and ``frac`` [..., n]: the voltage across cell k is
    ``frac[..., k] * (v_top - v_read)``.
    """
    g_cell = 1.0 / cell_ohm
    if segment_ohm == 0:
        return g_cell.sum(axis=-1), np.ones_like(cell_ohm)
    # Channel node voltages with the top at 1 V and the read terminal at 0 V.
    h = np.linalg.solve(channel_matrix(cell_ohm, segment_ohm), g_cell[..., None])[..., 0]
    return h[..., 0] * (1.0 / segment_ohm), 1.0 - h
