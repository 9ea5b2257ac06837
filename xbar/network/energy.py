"""Energy, latency and noise of a whole network on tiles, per image.

Every tile reads once per image (one vector-matrix product). Its array energy
is exact (:func:`xbar.analysis.readout.array_energy` over the images' own row voltages,
through the analog chain's activations); the periphery beside it is a model.
Latency: the worst settling time of each layer's full-scale step (every row at
V_read), from the native transient of the layer's largest tile; noise: each
tile's output-referred rms at the mean image's operating point, relative to the
tile's largest column current.

MACs count the network's logical multiply-accumulates (inputs x outputs of each
layer, biases included as one more input), the usual basis of fJ/MAC and
TOPS/W; device reads (differential pairs count two devices) are reported too.
"""

from __future__ import annotations

import numpy as np

from xbar.analysis.energy import READ_PULSE_S
from xbar.network.analog import AnalogNetwork
from xbar.network.mlp import sigmoid
from xbar.analysis.periphery import Periphery, describe
from xbar.analysis.readout import array_energy, array_noise, array_settling


def network_read_report(net: AnalogNetwork, x: np.ndarray, t_read_s: float = READ_PULSE_S,
                        periphery: Periphery | None = None, settle: bool = True, noise: bool = True) -> dict:
    """Per-image energy (array exact, periphery model), fJ/MAC, TOPS/W, settling and noise of ``net`` on images ``x``."""
    periphery = periphery or net.spec.periphery
    a = np.asarray(x, dtype=float)
    array_parts: dict[str, float] = {}
    periph_parts: dict[str, float] = {}
    layers = []
    macs = devices = 0
    worst_tellegen = 0.0
    for l, tiles in enumerate(net.tiles):
        v = net.row_voltages(a)
        layer_j = 0.0
        layer_periph_j = 0.0
        noise_rel = 0.0
        for tile in tiles:
            circuit = net.circuit(tile)
            solver = net.solver(tile)
            vt = v[:, tile.rows[0]:tile.rows[1]]
            e = array_energy(circuit, vt, t_read_s, periphery, solver)
            worst_tellegen = max(worst_tellegen, e["tellegen_error"])
            for k, val in e["array_j"].items():
                array_parts[k] = array_parts.get(k, 0.0) + val
            for k, val in e["periphery"]["energy_j"].items():
                periph_parts[k] = periph_parts.get(k, 0.0) + val
            layer_j += e["array_j"]["total"]
            layer_periph_j += e["periphery"]["total_j"]
            devices += circuit.shape[0] * circuit.shape[1]
            if noise:
                nz = array_noise(circuit, vt.mean(axis=0, keepdims=True), t_read_s, solver)
                full = np.abs(net.ideal_matrix(tile)).sum(axis=0).max() * net.spec.v_read
                noise_rel = max(noise_rel, nz["worst_rms_a"] / full)
        rows_l, outs_l = net.layers[l].shape[0], net.network.shape[l + 1]
        macs += rows_l * outs_l
        entry = {"layer": l, "tiles": len(tiles), "array_j": layer_j, "periphery_j": layer_periph_j}
        if noise:
            entry["noise_rms_rel"] = noise_rel
        if settle:
            tile = max(tiles, key=lambda t: t.states.shape[0] * t.states.shape[1])
            circuit = net.circuit(tile)
            _, s = array_settling(circuit, np.full(circuit.shape[0], net.spec.v_read), solver=net.solver(tile))
            entry.update(settling_s=s["worst_s"], settling_tile=list(tile.index), settling_dt_s=s["dt_s"],
                         elmore_settle_estimate_s=s["elmore_settle_estimate_s"], settling_band_rel=s["band_rel"])
        layers.append(entry)
        z = net.pre_activation(l, a)
        a = z if l == len(net.tiles) - 1 else sigmoid(z)
    array_total = array_parts.pop("total")
    periph_total = sum(periph_parts.values())
    per_mac = array_total / macs
    both = (array_total + periph_total) / macs
    return {
        "t_read_s": t_read_s, "images": len(x), "macs_per_image": macs, "device_reads_per_image": devices,
        "array_j_per_image": array_total, "array_parts_j_per_image": array_parts,
        "periphery_j_per_image": periph_total, "periphery_parts_j_per_image": periph_parts,
        "periphery_parameters": describe(periphery),
        "array_fj_per_mac": per_mac * 1e15, "array_tops_per_w": 2 / per_mac / 1e12,
        "fj_per_mac": both * 1e15, "tops_per_w": 2 / both / 1e12,
        "tellegen_error": worst_tellegen, "layers": layers,
        "note": "array energy exact (circuit solution); periphery from figure-of-merit models",
    }
