"""The paper's Fig. 5: test accuracy of the quantized network against TMR and number of states.

Kumar et al. (Nanoscale Horiz. 2024, section E and Methods) train a 784-128-10
sigmoid network at full precision, quantize its weights to the normalized
conductance states of 1-, 2- and 3-cell compound MTJs and report test accuracy:
(b, c) against the TMR of the device library's free-layer thicknesses, and
(d, e) over a TMR 60-260 % x 1-6 cell grid with R_P = 10 kohm.

The network does not depend on the device, so it is trained once per (dataset,
seed) (cached by :func:`xbar.network.mlp.trained`) and quantized many times.
:func:`paper_point` evaluates one grid point and returns a JSON record, for any
executor; :func:`reproduce` runs the whole experiment, keeps finished points in
``points.jsonl`` (an interrupted run resumes), and writes a Markdown report with
the paper's numbers side by side, PNG/SVG figures and ``summary.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from xbar.device.compound import MAX_CELLS, CompoundMTJ
from xbar.device.library import contour_device, library_device, library_mtj, library_thicknesses
from xbar.network import datasets, mlp as network, quantize
from xbar.util.store import Kind, Writer, open_store, read_store
from xbar.util.errors import ParameterError

#: Cell counts of the device library sweep (Fig. 5b/c) and of the contour (Fig. 5d/e).
LIBRARY_CELLS = (1, 2, 3)
CONTOUR_CELLS = tuple(range(1, MAX_CELLS + 1))
#: Contour TMR values (fractions): 60..260 % in steps of 10 %.
CONTOUR_TMR = tuple(np.round(np.arange(0.6, 2.6001, 0.1), 2))
#: Uniform quantizers reported for comparison.
UNIFORM_BITS = (1, 2, 3, 4)
DEFAULT_SEEDS = (0, 1, 2)

#: Grid of the quick mode: few thicknesses and TMR values, two seeds.
QUICK_THICKNESS_NM = (1.6, 1.9, 2.2, 2.6)
QUICK_TMR = (0.6, 1.1, 1.6, 2.1, 2.6)
QUICK_BITS = (2, 3)
QUICK_SEEDS = (0, 1)

#: Where the scale-rule/bias comparison is evaluated: (cells, thickness nm).
_RULE_POINTS = ((1, 1.6), (1, 2.6), (3, 1.9))
_RULE_VARIANTS = (("mse", "row"), ("mse", "float"), ("max", "row"), ("max", "float"))

#: The paper's numbers (section E and Summary), percent or percentage points.
PAPER = {
    "mnist": {"at_1p9": 91.7, "gain_1cell": 8.3, "fluct_2cell": 0.7, "fluct_3cell": 0.3, "gain_cells": 14.4},
    "fashion": {"at_1p9": 77.4, "gain_1cell": 7.4, "fall_2cell": 4.0, "fall_3cell": 3.45},
}

METHODS = ("full", "paper", "differential", "uniform")


def _levels(method: str, n_cells: int, tmr, thickness_nm, bits) -> tuple[np.ndarray, CompoundMTJ | None]:
    if method == "paper":
        if (tmr is None) == (thickness_nm is None):
            raise ParameterError("method 'paper' needs exactly one of tmr (contour device) or thickness_nm (library)")
        dev = (library_device(thickness_nm=thickness_nm, n_cells=n_cells) if thickness_nm is not None
               else contour_device(tmr=tmr, n_cells=n_cells))
        return quantize.paper_levels(dev), dev
    if method == "differential":
        return quantize.differential_levels(n_cells), None
    if method == "uniform":
        if bits is None:
            raise ParameterError("method 'uniform' needs bits")
        return quantize.uniform_levels(bits), None
    raise ParameterError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")


def paper_point(dataset: str, seed: int = 0, n_cells: int | None = 1, tmr: float | None = None,
                thickness_nm: float | None = None, method: str = "paper", bits: int | None = None,
                rule: str = "mse", bias: str = "row", data_dir: str | os.PathLike | None = None,
                cache_dir: str | os.PathLike | None = None, progress: bool = False,
                device: dict | None = None) -> dict:
    """Test accuracy (0..1) of one grid point, as a JSON-serializable record.

    ``method``: ``"full"`` (no quantization), ``"paper"`` (levels of an ``n_cells``
    device at library ``thickness_nm`` or with contour ``tmr``, a fraction, or of
    ``device``, a parsed device file), ``"differential"`` (``n_cells``) or
    ``"uniform"`` (``bits``). ``rule`` and ``bias`` choose the scale rule and
    bias treatment of :mod:`xbar.network.quantize`.
    """
    from threadpoolctl import threadpool_limits

    name = datasets.canonical_name(dataset)
    net = network.trained(name, seed, data_dir=data_dir, cache_dir=cache_dir, progress=progress)
    data = datasets.load(name, data_dir)
    record = {"dataset": name, "seed": int(seed), "method": method, "n_cells": None, "tmr": None,
              "thickness_nm": None, "r_p": None, "r_ap": None, "bits": None, "rule": None, "bias": None,
              "n_levels": None, "scales": None}
    model = net
    if device is not None:
        from xbar.device.files import device_from_dict
        dev = device_from_dict(device)
        q = quantize.quantize_network(net, quantize.paper_levels(dev), rule, bias)
        model = q.network
        record.update(method="paper", device=device.get("name", "device file"), n_cells=dev.n_cells,
                      tmr=float(dev.mtj.tmr), r_p=dev.mtj.r_p, r_ap=dev.mtj.r_ap, rule=rule, bias=bias,
                      n_levels=2 * dev.n_states, scales=[float(s) for s in q.scales],
                      state_ohm=dev.resistances().tolist())
    elif method != "full":
        levels, dev = _levels(method, n_cells, tmr, thickness_nm, bits)
        q = quantize.quantize_network(net, levels, rule, bias)
        model = q.network
        record.update(rule=rule, bias=bias, n_levels=int(levels.size), scales=[float(s) for s in q.scales])
        if method == "uniform":
            record["bits"] = int(bits)
        else:
            record["n_cells"] = int(n_cells)
        if dev is not None:
            record.update(tmr=float(dev.mtj.tmr), r_p=dev.mtj.r_p, r_ap=dev.mtj.r_ap,
                          thickness_nm=None if thickness_nm is None else float(thickness_nm))
    with threadpool_limits(limits=1, user_api="blas"):  # small products: threads only cost on shared cores
        record["accuracy"] = network.accuracy(model, data.x_test, data.y_test)
    return record


def plan(dataset: str, seeds=DEFAULT_SEEDS, quick: bool = False, rule: str = "mse", bias: str = "row",
         device: dict | None = None) -> list[dict]:
    """Keyword arguments of every :func:`paper_point` of the experiment (seed-major order).

    ``device`` (a parsed device file) adds one point per seed on that device's states.
    """
    name = datasets.canonical_name(dataset)
    thicknesses = QUICK_THICKNESS_NM if quick else tuple(float(t) for t in library_thicknesses())
    tmrs = QUICK_TMR if quick else CONTOUR_TMR
    bits = QUICK_BITS if quick else UNIFORM_BITS
    points = []
    for seed in seeds:
        base = {"dataset": name, "seed": int(seed)}
        points.append({**base, "method": "full"})
        q = {**base, "method": "paper", "rule": rule, "bias": bias}
        points += [{**q, "n_cells": n, "thickness_nm": t} for t in thicknesses for n in LIBRARY_CELLS]
        points += [{**q, "n_cells": n, "tmr": float(x)} for x in tmrs for n in CONTOUR_CELLS]
        points += [{**q, "method": "differential", "n_cells": n} for n in CONTOUR_CELLS]
        points += [{**q, "method": "uniform", "n_cells": None, "bits": b} for b in bits]
        points += [{**q, "rule": r, "bias": b, "n_cells": n, "thickness_nm": t}
                   for r, b in _RULE_VARIANTS if (r, b) != (rule, bias) for n, t in _RULE_POINTS]
        if device is not None:
            points.append({**q, "n_cells": None, "device": device})
    return points


def _key(point: dict) -> str:
    net_key = network.training_key(point["dataset"], point["seed"])
    return json.dumps({**point, "network": net_key}, sort_keys=True)


def _valid_record(rec: dict) -> bool:
    acc = rec.get("accuracy")
    return isinstance(acc, (int, float)) and not isinstance(acc, bool) and 0.0 <= acc <= 1.0


#: The reproduction's points store (``points.jsonl``): records keyed by :func:`_key` with an accuracy in 0..1.
POINTS_STORE = Kind("xbar_points", "reproduction", "choose another output folder", valid_record=_valid_record)


def _read_store(path: Path | None) -> dict[str, dict]:
    """Finished records of ``points.jsonl`` by key (none when there is no store yet).

    A line that is torn (interrupt), not UTF-8 JSON, or not a record with a string key and an
    accuracy in 0..1 is not trusted: its point is computed again. A foreign file is refused.
    """
    if path is None or not os.path.lexists(path):
        return {}
    return read_store(path, POINTS_STORE)[1]


def run_points(points: list[dict], store: Path | None = None, data_dir=None, cache_dir=None,
               progress: bool = False) -> list[dict]:
    """Records of ``points``: reused from ``store`` (JSON lines, :mod:`xbar.util.store`) or computed and appended."""
    if store is None:
        return _run_points(points, None, data_dir, cache_dir, progress)
    store.parent.mkdir(parents=True, exist_ok=True)
    with open_store(store, POINTS_STORE) as writer:  # refused before any work if not ours
        writer.ensure_header(POINTS_STORE.header())
        return _run_points(points, writer, data_dir, cache_dir, progress)


def _run_points(points: list[dict], writer: Writer | None, data_dir, cache_dir, progress: bool) -> list[dict]:
    from tqdm.auto import tqdm

    done = writer.read()[1] if writer is not None else {}
    for name, seed in dict.fromkeys((p["dataset"], p["seed"]) for p in points):
        network.trained(name, seed, data_dir=data_dir, cache_dir=cache_dir, progress=progress)
    records = []
    for point in tqdm(points, desc="points", unit="pt", disable=not progress, leave=False):
        key = _key(point)
        rec = done.get(key)
        if rec is None:
            rec = {**paper_point(**point, data_dir=data_dir, cache_dir=cache_dir), "key": key}
            if writer is not None:
                writer.append(rec)
            done[key] = rec
        records.append(rec)
    return records


# --- Summary ---------------------------------------------------------------------------

def _stats(values) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value) of accuracies given as fractions, in %."""
    v = 100.0 * np.asarray(values, dtype=np.float64)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def _by_seed(records: list[dict], **match) -> dict[int, float]:
    return {r["seed"]: r["accuracy"] for r in records
            if all(r.get(k) == v for k, v in match.items())}


def _grid(records, seeds, n_values, axis: str, values, **match) -> np.ndarray:
    """Accuracies [seeds, cells, values] (fractions) of the paper method along ``axis``."""
    out = np.full((len(seeds), len(n_values), len(values)), np.nan)
    for r in records:
        if r["method"] != "paper" or r[axis] is None or any(r.get(k) != v for k, v in match.items()):
            continue
        if r["seed"] in seeds and r["n_cells"] in n_values:
            j = int(np.argmin(np.abs(np.asarray(values) - r[axis])))
            if abs(values[j] - r[axis]) < 1e-6:
                out[seeds.index(r["seed"]), n_values.index(r["n_cells"]), j] = r["accuracy"]
    return out


def summarize(records: list[dict], rule: str = "mse", bias: str = "row") -> dict:
    """Aggregate the records of one dataset into the report's numbers for the main ``rule`` and ``bias``.

    Accuracies are in percent (mean and std over seeds), differences in
    percentage points. Metrics are computed per seed, then averaged.
    """
    name = records[0]["dataset"]
    own = [r for r in records if r.get("device")]
    records = [r for r in records if not r.get("device")]
    seeds = sorted({r["seed"] for r in records})
    lib = [r for r in records if r["thickness_nm"] is not None]
    thick = sorted({r["thickness_nm"] for r in lib if r["rule"] == rule and r["bias"] == bias})
    tmrs = sorted({round(r["tmr"], 6) for r in records if r["method"] == "paper" and r["thickness_nm"] is None})
    cells = sorted({r["n_cells"] for r in records if r["method"] == "paper" and r["thickness_nm"] is None})
    a = _grid(records, seeds, list(LIBRARY_CELLS), "thickness_nm", thick, rule=rule, bias=bias)
    c = _grid(records, seeds, cells, "tmr", tmrs, rule=rule, bias=bias, thickness_nm=None)
    i19, first, last = thick.index(min(thick, key=lambda t: abs(t - 1.9))), 0, len(thick) - 1
    per_seed = {
        "at_1p9": 100 * a[:, 2, i19],
        "gain_1cell": 100 * (a[:, 0, last] - a[:, 0, first]),
        "fluct_2cell": 50 * (np.max(a[:, 1], axis=1) - np.min(a[:, 1], axis=1)),
        "fluct_3cell": 50 * (np.max(a[:, 2], axis=1) - np.min(a[:, 2], axis=1)),
        "fall_2cell": 100 * (a[:, 1, first] - a[:, 1, last]),
        "fall_3cell": 100 * (a[:, 2, first] - a[:, 2, last]),
        "gain_cells": 100 * np.max(a[:, 2] - a[:, 0], axis=1),
    }
    metrics = {k: (float(np.mean(v)), float(np.std(v, ddof=1)) if v.size > 1 else 0.0) for k, v in per_seed.items()}
    lib_mean = 100 * np.mean(a, axis=0)
    best = np.unravel_index(np.argmax(lib_mean), lib_mean.shape)
    c_mean = 100 * np.mean(c, axis=0)
    steps = np.diff(c_mean, axis=0)
    rules = {f"{r}/{b}": {f"{n}@{t}": _stats(list(_by_seed(lib, rule=r, bias=b, n_cells=n, thickness_nm=t).values()))
                          for n, t in _RULE_POINTS} for r, b in _RULE_VARIANTS}
    return {
        "dataset": name, "rule": rule, "bias": bias, "seeds": seeds,
        "full": _stats(list(_by_seed(records, method="full").values())),
        "library": {"thickness_nm": thick,
                    "tmr_pct": [100 * library_mtj(t).tmr for t in thick],
                    "r_p_ohm": [library_mtj(t).r_p for t in thick],
                    "cells": list(LIBRARY_CELLS), "mean": lib_mean.tolist(),
                    "std": (100 * np.std(a, axis=0, ddof=1 if len(seeds) > 1 else 0)).tolist()},
        "contour": {"tmr_pct": [100 * t for t in tmrs], "cells": cells, "mean": c_mean.tolist(),
                    "std": (100 * np.std(c, axis=0, ddof=1 if len(seeds) > 1 else 0)).tolist(),
                    "best_is_most_cells": int(np.sum(np.argmax(c_mean, axis=0) == len(cells) - 1)),
                    "improving_steps": int(np.sum(steps > 0)), "steps": int(steps.size),
                    "gain_1_to_max_cells": float(np.mean(c_mean[-1] - c_mean[0])) if len(cells) > 1 else 0.0,
                    "gain_1_to_max_cells_high_tmr": float(c_mean[-1, -1] - c_mean[0, -1]) if len(cells) > 1 else 0.0},
        "best": {"accuracy": float(lib_mean[best]), "n_cells": LIBRARY_CELLS[best[0]],
                 "thickness_nm": thick[best[1]]},
        "differential": {n: _stats(list(_by_seed(records, method="differential", n_cells=n).values()))
                         for n in sorted({r["n_cells"] for r in records if r["method"] == "differential"})},
        "uniform": {b: _stats(list(_by_seed(records, method="uniform", bits=b).values()))
                    for b in sorted({r["bits"] for r in records if r["method"] == "uniform"})},
        "rules": rules,
        "metrics": metrics,
        "paper": PAPER.get(name, {}),
        "device": _device_summary(own),
    }


def _device_summary(own: list[dict]) -> dict | None:
    """The user's device (``--device``): its states, spacing and accuracy over seeds."""
    if not own:
        return None
    r = np.asarray(own[0]["state_ohm"])
    return {"name": own[0]["device"], "n_cells": own[0]["n_cells"], "state_ohm": r.tolist(),
            "spacing_pct": (100 * (r[:-1] / r[1:] - 1)).tolist(), "tmr_pct": 100 * own[0]["tmr"],
            "normalized_levels": (r[-1] / r).tolist(), "accuracy": _stats([x["accuracy"] for x in own])}
