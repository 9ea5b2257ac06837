"""Design-space exploration: which crossbar should I build? Accuracy against energy, latency, area and writes.

:func:`design_point` evaluates one design (a sweep task, registered as the ``design`` experiment):
the network on its circuits (exact accuracy, exact array read energy) with the periphery, latency and
area models (:mod:`xbar.network.design`), and the cost of writing it (program-and-verify of every
device: write energy and yield, :mod:`xbar.programming.verify`). :func:`front` finds the Pareto front of
finished designs over :data:`OBJECTIVES`; ``xbar explore`` runs the grid on the sweep engine (resumable,
local processes or Dask), prints the front and draws it.
"""

from __future__ import annotations

import numpy as np

from xbar.analysis.pareto import pareto_front

#: Objective -> (record field, maximize?, label with unit, factor to the shown unit).
OBJECTIVES = {
    "accuracy": ("accuracy_analog", True, "accuracy (%)", 100.0),
    "energy": ("energy_j_per_image", False, "energy per inference (pJ)", 1e12),
    "latency": ("latency_s", False, "latency (ns)", 1e9),
    "area": ("area_m2", False, "area (mm^2)", 1e6),
    "write_energy": ("write_energy_j", False, "write energy (uJ)", 1e6),
    "yield": ("program_yield", True, "programming yield (%)", 100.0),
}

#: The default knobs: 3 x 3 x 2 x 2 x 2 x 3 = 216 designs of the paper's MLP.
DEFAULT_AXES = {
    "tile": (64, 128, 256),
    "cells": (1, 2, 3),
    "thickness_nm": (1.9, 2.2),
    "v_read": (0.05, 0.1),
    "adc_bits": (6, 8),
    "mitigation": ("none", "compensate=2", "compensate=2,disconnect"),
}

#: The paper's design (Kumar et al. 2024): the 3-cell device read at 0.1 V (through 1 Mohm; here a TIA).
PAPER_DESIGN = {"cells": 3, "v_read": 0.1, "thickness_nm": 1.9, "mitigation": "none"}


def design_point(dataset: str = "digits", seed: int = 0, tile: int = 128, cells: int = 3, thickness_nm: float = 1.9,
                 v_read: float = 0.1, sense: str = "tia", ref_ohm: float = 1e6, adc_bits: int = 8,
                 wire_ohm: float = 1.0, mitigation: str | None = "none", n_test: int | None = 2000,
                 program: bool = True, data_dir=None, access: bool = False, temperature_c: float | None = None,
                 variation: float = 0.0, fault_rate: float = 0.0, v_half_volt: float | None = None) -> dict:
    """One design of the paper's MLP on circuits: accuracies, energy per image, latency, area, write cost.

    ``mitigation`` names :mod:`xbar.network.mitigation`'s options (None: "none"). The conditions a
    design must survive are knobs too: ``access`` (the built-in read transistor in series with every
    device), ``temperature_c`` (None: 27 C without a temperature model), ``variation`` (a multiple of
    the typical correlated spreads, :meth:`~xbar.device.variation.Variation.typical`), ``fault_rate``
    (faulty cells of all kinds) and ``v_half_volt`` (non-linear junctions; None: linear)."""
    from xbar.device.access import AccessTransistor
    from xbar.device.variation import Variation
    from xbar.experiments.circuits import compare
    from xbar.experiments.programming import program_network
    from xbar.network.analog import AnalogNetwork
    from xbar.network.circuit_spec import CircuitSpec
    from xbar.network.datasets import load
    from xbar.network.mlp import default_cache_dir, trained
    from xbar.util.validate import flag
    spec = CircuitSpec(n_cells=cells, thickness_nm=thickness_nm, wire_ohm=wire_ohm, sense=sense, ref_ohm=ref_ohm,
                       tile_rows=tile, tile_cols=tile, v_read=v_read, adc_bits=adc_bits, mitigation=mitigation or "none",
                       variation_seed=seed, access=AccessTransistor() if flag("access", access) else None,
                       temperature_c=temperature_c, fault_rate=fault_rate, v_half_volt=v_half_volt,
                       **Variation.typical(seed=seed, scale=variation).sigma_fields())
    net = trained(dataset, seed=seed, data_dir=data_dir)
    rec = compare(net, load(dataset, data_dir), spec, n_test=n_test, cache_dir=default_cache_dir(), ir_samples=4)
    design = rec["design"]
    out = dict(accuracy_analog=rec["accuracy_analog"], accuracy_ideal_quantized=rec["accuracy_ideal_quantized"],
               energy_j_per_image=design["energy_j_per_image"]["total"],
               array_energy_j_per_image=design["energy_j_per_image"]["array_dc"], latency_s=design["latency_s"],
               area_m2=design["area_m2"]["total"], array_area_m2=design["area_m2"]["parts"]["array"],
               worst_ir_rel=max(s["worst_rel"] for s in rec["ir_drop"]), n_test=rec["n_test"])
    if program:
        _, res = program_network(AnalogNetwork(net, spec), thickness_nm, seed=seed)
        s = res.summary()
        out.update(write_energy_j=s["energy_j"], program_yield=s["yield_fraction"], write_time_s=s["time_s"],
                   broken_devices=s["broken"])
    return out


def front(rows: list[dict], objectives=tuple(OBJECTIVES)) -> np.ndarray:
    """bool [len(rows)]: the designs on the Pareto front of ``objectives`` (names of :data:`OBJECTIVES`)
    among the flat records ``rows`` that have them all."""
    fields = [OBJECTIVES[o][0] for o in objectives]
    values = np.array([[r[f] for f in fields] for r in rows], dtype=float)
    return pareto_front(values, [OBJECTIVES[o][1] for o in objectives])


def front_table(rows: list[dict], mask: np.ndarray, knobs, objectives) -> list[str]:
    """The front as a Markdown table, best accuracy first."""
    head = list(knobs) + [OBJECTIVES[o][2] for o in objectives]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    chosen = sorted((r for r, on in zip(rows, mask) if on), key=lambda r: -r["accuracy_analog"])
    for r in chosen:
        cells = [str(r[k]) for k in knobs] + [f"{OBJECTIVES[o][3] * r[OBJECTIVES[o][0]]:.4g}" for o in objectives]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def is_paper_design(row: dict) -> bool:
    """True for a design that is the paper's (see :data:`PAPER_DESIGN`) in every knob the paper fixes."""
    return all((row.get(k) or "none") == v if k == "mitigation" else row.get(k) == v for k, v in PAPER_DESIGN.items())


def paper_design_index(rows: list[dict]) -> int | None:
    """Index of the paper's design among ``rows``: of those matching :data:`PAPER_DESIGN`, the one at xbar's
    defaults for what the paper leaves open (128x128 tiles, 8-bit ADCs, 1 ohm wires, no access transistor,
    27 C, no variation or faults, linear junctions); None when no row matches."""
    defaults = {"tile": 128, "adc_bits": 8, "wire_ohm": 1.0, "access": False, "temperature_c": None,
                "variation": 0.0, "fault_rate": 0.0, "v_half_volt": None}
    matches = [i for i, r in enumerate(rows) if is_paper_design(r)]
    if not matches:
        return None
    return max(matches, key=lambda i: sum(rows[i].get(k, v) == v for k, v in defaults.items()))
