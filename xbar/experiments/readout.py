"""The "Energy and latency" part of ``xbar infer``: the base run's read report and the opt-in
V_read / t_read trade-off study, with their Markdown and figure."""

from __future__ import annotations

import dataclasses

import numpy as np

from xbar.analysis.energy import READ_PULSE_S
from xbar.network.analog import AnalogNetwork
from xbar.network.energy import network_read_report

#: Read voltages (V) and read pulse widths (s) of the trade-off study.
TRADEOFF_V_READ = (0.002, 0.01, 0.05, 0.1, 0.2)
TRADEOFF_T_READ = (10e-9, 30e-9, 100e-9)


def base_energy(net, spec, x: np.ndarray, t_read_s: float = READ_PULSE_S) -> dict:
    """The base run's energy, latency and noise per image over images ``x``."""
    return network_read_report(AnalogNetwork(net, spec), x, t_read_s)


def tradeoff(net, spec, x: np.ndarray, y: np.ndarray) -> list[dict]:
    """Accuracy with read noise, energy per image, fJ/MAC, TOPS/W and worst relative noise for each V_read x t_read.

    The circuit is linear, so without noise the analog answer only scales with
    V_read; with seeded read noise injected (``CircuitSpec.read_noise_t_s``)
    accuracy falls once the noise nears the signal. Settling does not depend on
    either (linear circuit, same time constants).
    """
    out = []
    for v in TRADEOFF_V_READ:
        analog = AnalogNetwork(net, dataclasses.replace(spec, v_read=v))
        for t in TRADEOFF_T_READ:
            r = network_read_report(analog, x, t, settle=False)
            noisy = AnalogNetwork(net, dataclasses.replace(spec, v_read=v, read_noise_t_s=t))
            logits, _, _ = noisy.run(x)
            out.append(dict(v_read=v, t_read_s=t, accuracy_noisy=float(np.mean(logits.argmax(1) == y)),
                            array_j_per_image=r["array_j_per_image"],
                            periphery_j_per_image=r["periphery_j_per_image"], fj_per_mac=r["fj_per_mac"],
                            array_fj_per_mac=r["array_fj_per_mac"], tops_per_w=r["tops_per_w"],
                            noise_rms_rel=max(layer["noise_rms_rel"] for layer in r["layers"])))
    return out


def energy_markdown(e: dict, tradeoff_rows: list[dict] | None = None) -> list[str]:
    """The report section "Energy and latency"."""
    fj = 1e15
    parts = e["array_parts_j_per_image"]
    lines = [
        "## Energy and latency", "",
        f"Per image ({e['images']} test images, read pulse {e['t_read_s'] * 1e9:g} ns per tile read). The array "
        "energy is exact: the power every source delivers in the solved circuit (Tellegen balance "
        f"{e['tellegen_error']:.1e}), split by element. The periphery is a model from figures of merit "
        "(xbar/periphery.py), not a circuit solution.", "",
        f"MACs per image: {e['macs_per_image']} (network weights and biases); device reads: "
        f"{e['device_reads_per_image']}.", "",
        "| | energy per image (pJ) | fJ/MAC | TOPS/W |", "|---|---|---|---|",
        f"| array (exact) | {e['array_j_per_image'] * 1e12:.4g} | {e['array_fj_per_mac']:.4g} "
        f"| {e['array_tops_per_w']:.4g} |",
        f"| array + periphery (models) | {(e['array_j_per_image'] + e['periphery_j_per_image']) * 1e12:.4g} "
        f"| {e['fj_per_mac']:.4g} | {e['tops_per_w']:.4g} |", "",
        "| part | fJ per image |", "|---|---|",
        *[f"| {k} | {v * fj:.4g} |" for k, v in parts.items()],
        *[f"| periphery: {k} (model) | {v * fj:.4g} |" for k, v in e["periphery_parts_j_per_image"].items()],
        "", "| layer | tiles | array pJ | periphery pJ (model) | settling (ns) | Elmore estimate (ns) "
            "| output noise rms (of full scale) |", "|---|---|---|---|---|---|---|",
    ]
    for layer in e["layers"]:
        lines.append(f"| {layer['layer']} | {layer['tiles']} | {layer['array_j'] * 1e12:.4g} "
                     f"| {layer['periphery_j'] * 1e12:.4g} | {layer.get('settling_s', float('nan')) * 1e9:.4g} "
                     f"| {layer.get('elmore_settle_estimate_s', float('nan')) * 1e9:.4g} "
                     f"| {layer.get('noise_rms_rel', float('nan')):.3e} |")
    lines += ["", "Settling: native transient of each layer's largest tile for a full-scale step (every row at "
              "V_read), to half an LSB of an 8-bit ADC; the Elmore estimate is the analytic row/column Elmore "
              "delay x ln(1/band). Noise: thermal (4kT/R) and junction shot noise at the mean image's operating "
              "point, over the read's bandwidth 1/(2 t_read), relative to the tile's full-scale column current."]
    if tradeoff_rows:
        lines += ["", "### V_read / t_read trade-off", "",
                  "Accuracy with seeded read noise (thermal and junction shot noise of each column over the "
                  "read, injected before the ADC); array energy grows as V_read^2 t_read, relative noise falls "
                  "as 1/(V_read sqrt(t_read)).", "",
                  "| V_read (V) | t_read (ns) | accuracy with noise (%) | array pJ/image | periphery pJ/image "
                  "| fJ/MAC | TOPS/W | noise rms (of full scale) |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['v_read']:g} | {r['t_read_s'] * 1e9:g} | {100 * r['accuracy_noisy']:.2f} "
                  f"| {r['array_j_per_image'] * 1e12:.4g} "
                  f"| {r['periphery_j_per_image'] * 1e12:.4g} | {r['fj_per_mac']:.4g} | {r['tops_per_w']:.4g} "
                  f"| {r['noise_rms_rel']:.3e} |" for r in tradeoff_rows]
    return lines
