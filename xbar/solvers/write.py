"""Solvers of the write circuit (:mod:`xbar.array.write_circuit`): native nodal analysis and an ngspice ``.tran``.

The write circuit is linear and resistive, so every node voltage is the source
voltage times a fixed transfer; the native solver finds that transfer for a
batch of devices at once (dense nodal analysis, a few nodes each). A
trapezoidal pulse of amplitude V, width t_p and linear edges t_r, t_f then
delivers E = G_in V^2 (t_p + (t_r + t_f) / 3). The ngspice backend runs the
real ngspice's transient analysis of the same pulse; its energy is integrated
exactly from the raw waveform (voltage and current are linear between the
time points, so each interval's integral of their product is exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xbar.util.errors import ParameterError
from xbar.array.netlist import format_number
from xbar.array.write_circuit import WriteCircuit, write_netlist_text
from xbar.solvers.ngspice import run_control
from xbar.solvers.ngspice_run import resolve_timeout

#: Limit of one write-pulse run when neither ``timeout_s`` nor $XBAR_NGSPICE_TIMEOUT is set.
PULSE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class WriteTransfer:
    """Per volt of source amplitude, for a batch of devices.

    ``node_v`` [batch, n_nodes] node voltages; ``g_in`` [batch] source current
    (siemens); ``segment_a`` [batch, n + 1] current in each channel segment,
    driver end first; ``cell_a`` [batch, n] channel current under each cell (mean
    of its two segments); ``channel_v`` [batch] voltage across the channel;
    ``junction_v`` [batch, n] channel node minus top electrode, per cell.
    """

    node_v: np.ndarray
    g_in: np.ndarray
    segment_a: np.ndarray
    cell_a: np.ndarray
    channel_v: np.ndarray
    junction_v: np.ndarray


def write_transfer(circuit: WriteCircuit, junction_ohm=None) -> WriteTransfer:
    """Native solve of the write circuit per volt; ``junction_ohm`` [batch, n] overrides the junctions.

    Without ``junction_ohm`` the batch is the circuit itself (batch 1).
    """
    n = circuit.device.n_cells
    groups = list(circuit.resistors)
    rj = groups[circuit.junction_group].ohm[None, :] if junction_ohm is None else np.asarray(junction_ohm, float)
    if rj.ndim != 2 or rj.shape[1] != n or not (np.isfinite(rj) & (rj > 0)).all():
        raise ParameterError(f"junction resistances must be finite values > 0 ohm of shape [batch, {n}]")
    batch, m = len(rj), circuit.n_nodes
    lap = np.zeros((batch, m, m))
    for k, g in enumerate(groups):
        cond = 1.0 / (rj if k == circuit.junction_group else np.broadcast_to(g.ohm, (batch, len(g.ohm))))
        for e in range(len(g.a)):
            a, b = g.a[e], g.b[e]
            lap[:, a, a] += cond[:, e]
            lap[:, b, b] += cond[:, e]
            lap[:, a, b] -= cond[:, e]
            lap[:, b, a] -= cond[:, e]
    free = np.setdiff1d(np.arange(1, m), [circuit.source])
    v = np.zeros((batch, m))
    v[:, circuit.source] = 1.0
    rhs = -lap[:, free][:, :, [circuit.source]]
    v[:, free] = np.linalg.solve(lap[:, free][:, :, free], rhs)[..., 0]
    g_in = (lap[:, circuit.source] * v).sum(axis=1)
    ch = circuit.channel
    seg = groups[[g.prefix for g in groups].index("Rwch")].ohm
    segment = (v[:, ch[:-1]] - v[:, ch[1:]]) / seg
    cell = 0.5 * (segment[:, :-1] + segment[:, 1:])[:, ::-1]  # cell k sits between segments n-k-1 and n-k
    return WriteTransfer(node_v=v, g_in=g_in, segment_a=segment, cell_a=cell,
                         channel_v=v[:, ch[0]] - v[:, ch[-1]], junction_v=v[:, circuit.cells] - v[:, [circuit.top]])


def pulse_energy(g_in, amplitude_v, width_s: float, rise_s: float, fall_s: float) -> np.ndarray:
    """Energy in joule a trapezoidal pulse delivers into input conductance ``g_in`` (broadcast)."""
    return np.asarray(g_in) * np.asarray(amplitude_v) ** 2 * (width_s + (rise_s + fall_s) / 3.0)


def piecewise_linear_energy(time_s: np.ndarray, v: np.ndarray, i: np.ndarray) -> float:
    """Exact integral of v(t) i(t) dt when both are linear between the samples (joule for volt x ampere)."""
    dt = np.diff(time_s)
    return float(np.sum(dt / 6.0 * (2 * v[:-1] * i[:-1] + v[:-1] * i[1:] + v[1:] * i[:-1] + 2 * v[1:] * i[1:])))


def ngspice_pulse(circuit: WriteCircuit, amplitude_v: float, width_s: float, step_s: float | None = None,
                  timeout_s: float | None = None, executable: str | None = None) -> dict[str, np.ndarray]:
    """One write pulse through the real ngspice (``tran``); returns the waveforms and the energy.

    Keys: ``time`` [points] s, ``v`` [points, n_nodes] node voltages (ground
    column 0), ``i_source`` [points] ampere delivered by the source, ``energy_j``
    (a 0-d array) from :func:`piecewise_linear_energy`. ``timeout_s``: limit of the run (default
    $XBAR_NGSPICE_TIMEOUT, else :data:`PULSE_TIMEOUT_S`).
    """
    p = circuit.path
    stop = p.rise_s + width_s + p.fall_s
    step = step_s or stop / 200
    names = [f"v({name})" for name in circuit.node_names[1:]]
    plot = run_control(write_netlist_text(circuit, amplitude_v, width_s),
                       f"tran {format_number(step)} {format_number(stop * 1.25)} 0 {format_number(step)}",
                       f"{' '.join(names)} i(vw)", "transient of the write pulse",
                       resolve_timeout(timeout_s, PULSE_TIMEOUT_S), executable)
    time = plot["time"]
    v = np.zeros((len(time), circuit.n_nodes))
    for k, name in enumerate(names, start=1):
        v[:, k] = plot[name]
    i_source = -plot["i(vw)"]
    return dict(time=time, v=v, i_source=i_source,
                energy_j=np.asarray(piecewise_linear_energy(time, v[:, circuit.source], i_source)))
