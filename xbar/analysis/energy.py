"""Exact read power and energy of a solved crossbar, split by where it is dissipated.

Input: the one circuit description and a DC solution's node voltages
[batch, n_nodes] (any solver that returns them: native, ngspice, pyspice).
The power delivered by every source is ``V_s * I_s``; each element dissipates
``(V_a - V_b)^2 / R``. Tellegen's theorem makes the two totals equal in any
solution that satisfies Kirchhoff's current law, so their difference measures
the solution's accuracy (:attr:`PowerBreakdown.tellegen_error`).

Compound devices are split exactly into their MTJ cells and the write-channel
segments of the read path, with the same internal transfer the solvers use
(:func:`xbar.solvers.native.device_transfer`).

Energy per read is power times the read pulse width (:data:`READ_PULSE_S`).
Power is quadratic in the inputs, so the summed energy of many input vectors
equals that of a few "moment" vectors (:func:`moment_vectors`): a network's
exact mean energy per image needs one solve per row, not one per image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xbar.array.circuit import Circuit
from xbar.util.errors import ParameterError
from xbar.solvers.native import device_transfer, kcl_residual

#: Default read pulse width, second: 30 ns, the SOT-MTJ read time the paper quotes
#: (Kumar et al. 2024, introduction, citing its ref. 10).
READ_PULSE_S = 30e-9

#: Power categories of the array, in report order: resistor-group prefix -> category.
GROUP_PARTS = {"Rdrv": "drivers", "Rr": "row_wires", "Ra": "access", "Rc": "col_wires", "Rref": "sense"}
PARTS = ("cells", "channel", "row_wires", "col_wires", "drivers", "access", "sense")


def check_read_time(t_read_s: float) -> float:
    """``t_read_s`` as a float, or a ParameterError unless it is a finite time > 0 s."""
    try:
        t = float(t_read_s)
    except (TypeError, ValueError):
        raise ParameterError(f"read time must be a number of seconds, got {t_read_s!r}") from None
    if not np.isfinite(t) or t <= 0:
        raise ParameterError(f"read time must be a finite time > 0 s, got {t_read_s!r}")
    return t


@dataclass(frozen=True)
class PowerBreakdown:
    """Power of a batch of DC reads, watt, each array [batch].

    ``source_w``: total power delivered by all sources; ``per_source_w``
    [batch, n_sources]: row sources first, then the sense sources (0 V
    virtual grounds deliver nothing); ``parts_w``: dissipation per category
    (:data:`PARTS`, plus any resistor group the table does not know, under its
    prefix).
    """

    source_w: np.ndarray
    per_source_w: np.ndarray
    parts_w: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def dissipated_w(self) -> np.ndarray:
        """Sum of I^2 R over every element, [batch]."""
        return np.sum(list(self.parts_w.values()), axis=0)

    @property
    def tellegen_error(self) -> float:
        """Largest |source power - dissipated power| / source power over the batch (0 for a zero input)."""
        src, dis = self.source_w, self.dissipated_w
        scale = np.maximum(np.abs(src), np.abs(dis))
        err = np.where(scale > 0, np.abs(src - dis) / np.where(scale > 0, scale, 1.0), 0.0)
        return float(err.max()) if err.size else 0.0

    def total(self) -> "PowerBreakdown":
        """The batch summed into one entry (energies of a sequence of reads add)."""
        return PowerBreakdown(self.source_w.sum(keepdims=True), self.per_source_w.sum(0, keepdims=True),
                              {k: v.sum(keepdims=True) for k, v in self.parts_w.items()})

    def energy_j(self, t_read_s: float = READ_PULSE_S) -> dict[str, float]:
        """Energy in joule of the whole batch, each read lasting ``t_read_s``: ``total`` and each part."""
        t = check_read_time(t_read_s)
        out = {"total": float(self.source_w.sum() * t)}
        out.update({k: float(v.sum() * t) for k, v in self.parts_w.items()})
        return out


def source_currents(circuit: Circuit, node_voltages: np.ndarray) -> np.ndarray:
    """Current each source drives into the network, ampere, [batch, n_sources] (rows, then sense).

    By Kirchhoff's current law at the source node: the sum of its branch currents.
    """
    v = _check_voltages(circuit, node_voltages)
    nodes = np.concatenate([circuit.input_nodes, circuit.sense_nodes])
    return kcl_residual(circuit, v)[:, nodes]


def power_breakdown(circuit: Circuit, node_voltages: np.ndarray, currents: np.ndarray | None = None) -> PowerBreakdown:
    """Exact power of each read in ``node_voltages`` [batch, n_nodes].

    ``currents`` [batch, n_sources]: the source currents the solver reported
    (rows then sense sources, ampere, flowing out of each source into the
    network); by default they follow from Kirchhoff's law at the source nodes.
    """
    v = _check_voltages(circuit, node_voltages)
    if currents is None:
        currents = source_currents(circuit, v)
    n_src = len(circuit.input_nodes) + len(circuit.sense_nodes)
    currents = np.asarray(currents, dtype=float)
    if currents.shape != (len(v), n_src):
        raise ParameterError(f"source currents must have shape [{len(v)}, {n_src}], got {list(currents.shape)}")
    nodes = np.concatenate([circuit.input_nodes, circuit.sense_nodes])
    per_source = v[:, nodes] * currents

    parts = {name: np.zeros(len(v)) for name in PARTS}
    for g in circuit.resistors:
        name = GROUP_PARTS.get(g.prefix, g.prefix)
        drop = v[:, g.a] - v[:, g.b]
        parts[name] = parts.get(name, 0.0) + (drop ** 2 / g.ohm).sum(axis=1)
    cells_w, channel_w = device_power(circuit, v)
    parts["cells"] = cells_w.sum(axis=(1, 2))
    parts["channel"] = channel_w.sum(axis=(1, 2))
    return PowerBreakdown(per_source.sum(axis=1), per_source, parts)


def device_power(circuit: Circuit, node_voltages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Power in the MTJ cells and in the channel's read path of each device, watt, each [batch, rows, cols].

    Cell k sees ``frac_k * (v_top - v_read)``; channel segment k (between cell
    k's channel node and the next one toward the read terminal) sees
    ``(frac_{k-1} - frac_k) * (v_top - v_read)`` with frac_{-1} = 1.
    """
    v = np.asarray(node_voltages, dtype=float)
    _, frac = device_transfer(circuit.cell_ohm, circuit.channel_segment_ohm)
    across = v[:, circuit.device_top] - v[:, circuit.device_read]
    cells = ((frac[None] * across[..., None]) ** 2 / circuit.cell_ohm[None]).sum(axis=-1)
    if circuit.channel_segment_ohm == 0:
        return cells, np.zeros_like(cells)
    prev = np.concatenate([np.ones(frac.shape[:-1] + (1,)), frac[..., :-1]], axis=-1)
    seg = ((prev - frac)[None] * across[..., None]) ** 2 / circuit.channel_segment_ohm
    return cells, seg.sum(axis=-1)


def moment_vectors(inputs: np.ndarray) -> np.ndarray:
    """Vectors U [k, rows], k <= rows, with sum_b x_b x_b^T = sum_k u_k u_k^T.

    Every power in a linear circuit is a quadratic form in the inputs, so the
    summed power of all ``inputs`` [batch, rows] equals the summed power of
    these few vectors: solve them instead of the whole batch.
    """
    x = np.asarray(inputs, dtype=float)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ParameterError(f"inputs must be a finite array [batch, rows], got shape {list(x.shape)}")
    if len(x) <= x.shape[1]:
        return x.copy()
    # Thin QR: X = Q R, so X^T X = R^T R exactly up to rounding (better conditioned than an eigendecomposition).
    return np.linalg.qr(x, mode="r")


def efficiency(energy_j: float, macs: float) -> dict[str, float]:
    """fJ per multiply-accumulate and TOPS/W (2 operations per MAC) of ``energy_j`` spent on ``macs``."""
    if not (np.isfinite(energy_j) and energy_j > 0 and macs > 0):
        return {"fj_per_mac": float("nan"), "tops_per_w": float("nan")}
    per_mac = energy_j / macs
    return {"fj_per_mac": per_mac * 1e15, "tops_per_w": 2.0 / per_mac / 1e12}


def _check_voltages(circuit: Circuit, node_voltages) -> np.ndarray:
    v = np.asarray(node_voltages, dtype=float)
    if v.ndim == 1:
        v = v[None]
    if v.ndim != 2 or v.shape[1] != circuit.n_nodes:
        raise ParameterError(f"node voltages must have shape [batch, {circuit.n_nodes}], got {list(np.shape(node_voltages))}")
    if not np.isfinite(v).all():
        raise ParameterError("node voltages must be finite")
    return v
