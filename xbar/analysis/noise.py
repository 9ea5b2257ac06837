"""Output-referred noise of each column: thermal noise of every resistor, shot noise of every junction.

Each noise source is a current source across its element; its effect on a
column output follows from reciprocity (the circuit is reciprocal: L is
symmetric). With ``w`` the adjoint node voltages of a column (from
:func:`xbar.solvers.adjoint.adjoint_voltages`), a noise current across nodes
(a, b) reaches that output scaled by ``w_a - w_b``. Sources are independent,
so power spectral densities add:

* resistor: 4 k T / R (Johnson-Nyquist);
* tunnel junction at bias V with current I: 4kT/R [(1 - F) + F u coth u], u = qV/2kT,
  i.e. 2 q I coth(qV / 2kT) for F = 1 (the full
  shot-noise expression, e.g. Blanter & Buttiker, Phys. Rep. 336, 1 (2000)); it
  is 4 k T / R at V = 0 and 2 q I for qV >> kT, so it replaces the junction's
  thermal noise rather than adding to it. Fano factor F = 1 (full shot noise,
  as measured in MgO junctions; assumed).

Integrated over the sense bandwidth of a read of length T: an integrate-and-dump
(boxcar) read has noise-equivalent bandwidth 1 / (2 T).
Output units: ampere rms of the column current (resistor sensing: the sense-node
voltage noise divided by R_ref).
"""

from __future__ import annotations

import numpy as np

from xbar.array.circuit import Circuit
from xbar.util.errors import ParameterError
from xbar.solvers.native import device_transfer

#: Boltzmann constant J/K and elementary charge C (exact SI values).
K_B = 1.380649e-23
Q_E = 1.602176634e-19
#: Default temperature, K (room temperature, as the paper's measurements).
TEMPERATURE_K = 300.0
#: Fano factor of the junctions' shot noise (assumed 1: full shot noise).
FANO = 1.0


def read_bandwidth_hz(t_read_s: float) -> float:
    """Noise-equivalent bandwidth of an integrate-and-dump read of length ``t_read_s``: 1 / (2 T)."""
    t = float(t_read_s)
    if not np.isfinite(t) or t <= 0:
        raise ParameterError(f"read time must be a finite time > 0 s, got {t_read_s!r}")
    return 0.5 / t


def junction_psd(v: np.ndarray, r_ohm: np.ndarray, temperature_k: float = TEMPERATURE_K,
                 fano: float = FANO) -> np.ndarray:
    """Current-noise PSD A^2/Hz of ohmic junctions at bias ``v`` volt, resistance ``r_ohm``.

    4kT/R [(1 - F) + F u coth u], u = qV/2kT: 4kT/R at V = 0, 2 q F I for qV >> kT.
    """
    u = Q_E * np.asarray(v, dtype=float) / (2 * K_B * temperature_k)
    with np.errstate(divide="ignore", invalid="ignore"):
        ucothu = np.where(np.abs(u) < 1e-8, 1.0, u / np.tanh(u))
        return np.where(np.isfinite(r_ohm), 4 * K_B * temperature_k * ((1 - fano) + fano * ucothu) / r_ohm, 0.0)


def output_noise_psd(circuit: Circuit, node_voltages: np.ndarray, adjoint: np.ndarray,
                     temperature_k: float = TEMPERATURE_K, fano: float = FANO) -> dict[str, np.ndarray]:
    """One-sided current-noise PSD (A^2/Hz) of each column, [batch, cols], per source kind.

    ``node_voltages`` [batch, n_nodes] (the operating point: it sets the junctions'
    shot noise); ``adjoint`` [cols, n_nodes]. Returns ``thermal`` (every resistor,
    channel segments included), ``shot`` (the junctions) and ``total``.
    """
    v = np.atleast_2d(np.asarray(node_voltages, dtype=float))
    w = np.asarray(adjoint, dtype=float)
    if v.shape[1] != circuit.n_nodes or w.ndim != 2 or w.shape[1] != circuit.n_nodes:
        raise ParameterError(f"node voltages and adjoint must have {circuit.n_nodes} nodes per row")
    kt4 = 4 * K_B * temperature_k
    thermal = np.zeros(len(w))
    for g in circuit.resistors:
        thermal += ((w[:, g.a] - w[:, g.b]) ** 2 / g.ohm).sum(axis=1) * kt4
    _, frac = device_transfer(circuit.cell_ohm, circuit.channel_segment_ohm)   # [rows, cols, cells]
    dw = (w[:, circuit.device_top] - w[:, circuit.device_read]).reshape(len(w), -1)   # [outs, devices]
    frac2 = frac.reshape(-1, frac.shape[-1])
    if circuit.channel_segment_ohm > 0:
        prev = np.concatenate([np.ones((len(frac2), 1)), frac2[:, :-1]], axis=1)
        seg_gain2 = ((prev - frac2) ** 2).sum(axis=1)                            # [devices]
        thermal += (dw ** 2 @ seg_gain2) * kt4 / circuit.channel_segment_ohm
    across = (v[:, circuit.device_top] - v[:, circuit.device_read]).reshape(len(v), -1)  # [batch, devices]
    cell_v = across[..., None] * frac2[None]                                   # [batch, devices, cells]
    psd = junction_psd(cell_v, circuit.cell_ohm.reshape(-1, frac.shape[-1])[None], temperature_k, fano)
    shot = np.einsum("bdk,dk,od->bo", psd, frac2 ** 2, dw ** 2)
    thermal = np.broadcast_to(thermal, shot.shape).copy()
    return {"thermal": thermal, "shot": shot, "total": thermal + shot}


def output_noise_rms(circuit: Circuit, node_voltages: np.ndarray, adjoint: np.ndarray, t_read_s: float,
                     temperature_k: float = TEMPERATURE_K, fano: float = FANO) -> np.ndarray:
    """RMS current noise of each column over a read of ``t_read_s``, ampere, [batch, cols]."""
    psd = output_noise_psd(circuit, node_voltages, adjoint, temperature_k, fano)["total"]
    return np.sqrt(psd * read_bandwidth_hz(t_read_s))
