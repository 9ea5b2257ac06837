"""Crossbar-level sweep experiments: how far a random array's circuit output drifts from the ideal VMM.

Each function is one sweep point, ``f(**params) -> dict``: states and inputs come from
``seed`` alone and records hold no timings, so a point always gives the same numbers.
Deviations compare column currents (ampere) with the ideal product I = V G.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from xbar.array.crossbar import SENSE_MODES, Crossbar
from xbar.device.variation import Variation
from xbar.device.library import library_device
from xbar.solvers import BACKENDS, solve


def _deviation(out: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """RMS relative deviation (RMS of the error over RMS of ``ref``) and worst element-wise relative deviation."""
    err = out - ref
    return (float(np.sqrt(np.mean(err ** 2) / np.mean(ref ** 2))),
            float(np.max(np.abs(err) / np.abs(ref))))


def crossbar_point(rows: int = 16, cols: int = 16, cells: int = 3, thickness_nm: float = 1.9,
                   wire_ohm: float = 1.0, driver_ohm: float = 0.0, sense: Literal[SENSE_MODES] = "tia",
                   ref_ohm: float = 1e6, sigma: float = 0.0, backend: Literal[tuple(BACKENDS)] = "native",
                   batch: int = 16, v_read: float = 0.1, seed: int = 0) -> dict:
    """One random rows x cols array of library devices solved by ``backend`` against its ideal VMM.

    Random device states and input voltages (uniform in 0..``v_read`` volt) from
    ``seed``; ``wire_ohm`` per segment on rows and columns; ``sigma`` log-normal
    device variation (the ideal uses the same varied devices, so the deviation is
    the parasitics' alone).
    """
    rng = np.random.default_rng(seed)
    xbar = Crossbar(library_device(thickness_nm=thickness_nm, n_cells=cells), rng.integers(0, cells + 1, size=(rows, cols)),
                    row_wire_ohm=wire_ohm, col_wire_ohm=wire_ohm, driver_ohm=driver_ohm, sense=sense,
                    ref_ohm=ref_ohm, variation=Variation(sigma, seed))
    inputs = rng.uniform(0.0, v_read, size=(batch, rows))
    ideal = solve(xbar, inputs, "ideal").currents
    out = solve(xbar, inputs, backend).currents
    rms_rel, worst_rel = _deviation(out, ideal)
    return {"rms_rel": rms_rel, "worst_rel": worst_rel, "mean_ratio": float(np.mean(out / ideal)),
            "ideal_rms_a": float(np.sqrt(np.mean(ideal ** 2)))}


def variation_point(rows: int = 32, cols: int = 32, cells: int = 3, thickness_nm: float = 1.9,
                    wire_ohm: float = 1.0, sigma: float = 0.05, trials: int = 20, batch: int = 16,
                    v_read: float = 0.1, seed: int = 0) -> dict:
    """Monte Carlo of device-to-device variation on one random array, native solver.

    ``trials`` variation draws of the same array (states and inputs from ``seed``),
    each built and solved as a circuit, so the cost is CPU-bound and linear in
    ``trials``. Reports the output's deviation from the nominal ideal VMM (no
    variation, no parasitics) over the draws.
    """
    rng = np.random.default_rng(seed)
    device = library_device(thickness_nm=thickness_nm, n_cells=cells)
    states = rng.integers(0, cells + 1, size=(rows, cols))
    inputs = rng.uniform(0.0, v_read, size=(batch, rows))
    nominal = solve(Crossbar(device, states), inputs, "ideal").currents
    draws = np.random.SeedSequence(seed).generate_state(trials)
    rms, worst = np.array([
        _deviation(solve(Crossbar(device, states, row_wire_ohm=wire_ohm, col_wire_ohm=wire_ohm,
                                  variation=Variation(sigma, int(d))), inputs).currents, nominal)
        for d in draws]).T
    return {"rms_rel_mean": float(rms.mean()), "rms_rel_std": float(rms.std()),
            "worst_rel_max": float(worst.max())}
