"""The paper reproduction end to end: run every point (resumable), then the Markdown report with the paper's numbers
beside the measured ones, figures and ``summary.json``."""

from __future__ import annotations

import datetime
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from xbar import __version__
from xbar.device.library import library_device
from xbar.network import datasets, mlp as network
from xbar.analysis import plots
from xbar.util.atomic import write_text
from xbar.util.errors import ParameterError

#: Cell counts of the device library sweep (Fig. 5b/c) and of the contour (Fig. 5d/e).
from xbar.experiments.provenance import markdown as provenance_markdown, provenance
from xbar.experiments.paper import DEFAULT_SEEDS, PAPER, _RULE_POINTS, _key, _read_store, plan, run_points, summarize


_METRIC_ROWS = (
    ("at_1p9", "3 cells at 1.9 nm (paper: best)", "%"),
    ("gain_1cell", "1-cell gain with TMR, 1.6 -> 2.6 nm", "pp"),
    ("fluct_2cell", "2-cell fluctuation over thickness (half range)", "pp"),
    ("fluct_3cell", "3-cell fluctuation over thickness (half range)", "pp"),
    ("fall_2cell", "2-cell fall, 1.6 -> 2.6 nm (TMR 34 -> 78 %)", "pp"),
    ("fall_3cell", "3-cell fall, 1.6 -> 2.6 nm (TMR 34 -> 78 %)", "pp"),
    ("gain_cells", "gain from 1 to 3 cells (largest over thickness)", "pp"),
)


def _pm(mean_std: tuple[float, float], digits: int = 1) -> str:
    return f"{mean_std[0]:.{digits}f} ± {mean_std[1]:.{digits}f}"


def _level_facts(thickness_nm: float) -> tuple[float, float]:
    """(G_0/G_max of any cell count, smallest neighbour-state resistance step of 3 cells in %)."""
    dev = library_device(thickness_nm=thickness_nm, n_cells=3)
    r = dev.resistances()
    return float(dev.normalized_levels()[0]), float(100 * np.min(r[:-1] / r[1:] - 1))


def _why(s: dict, key: str) -> tuple[str, str]:
    """Why metric ``key`` differs from the paper: (specific reason, shared device-model cause or "")."""
    t = s["library"]["thickness_nm"]
    l0_19, step = _level_facts(1.9)
    l0_a, l0_b = _level_facts(t[0])[0], _level_facts(t[-1])[0]
    cause = (f"In the device model the cells are identical and read in parallel, so the smallest level "
             f"G_0/G_max = R_P/R_AP does not depend on the cell count (at 1.9 nm it is {l0_19:.3f} for 1, 2 and "
             f"3 cells): no state lies near zero, every small weight rounds to ±{l0_19:.2f}·scale, and extra "
             f"cells only add states between R_P/R_AP and 1, where few weights lie. The paper's measured "
             f"multi-cell states are at least 21 % apart; three identical cells at 1.9 nm are only {step:.1f} % "
             f"apart, so the measured devices spread their states wider than this model can.")
    if key == "at_1p9":
        d3 = s["differential"].get(3, (float("nan"), 0))
        return (f"Full precision reaches {_pm(s['full'])} %, so the gap comes from quantization. The same 3-cell "
                f"states used as a differential pair, which adds a zero level, reach {_pm(d3)} %. The paper "
                f"states neither its scale rule nor its bias treatment; this run uses {s['rule']}/{s['bias']} "
                "(the scale-rule table shows the others).", cause)
    if key == "gain_1cell":
        mx = s["rules"].get("max/row", {})
        gain_max = mx["1@2.6"][0] - mx["1@1.6"][0] if mx else float("nan")
        return (f"The 1-cell levels are ±R_P/R_AP and ±1; from {t[0]} to {t[-1]} nm the inner level falls from "
                f"{l0_a:.3f} to {l0_b:.3f}. The {s['rule']} scale is refitted to each level set, which absorbs part "
                f"of the TMR effect; with scale = max|w| the gain is {gain_max:+.1f} pp, since nearly every weight "
                "then rounds to the inner level. The paper's exact scale rule is not stated.", "")
    return ("Higher TMR lowers the smallest level for every cell count alike, so 2- and 3-cell accuracies follow "
            "the 1-cell trend instead of staying flat (MNIST) or falling (Fashion-MNIST), and the cell count "
            "matters less than in the paper, which ascribes its trends to the measured states (\"compromised "
            "linearity\", weights falling into low-value states).", cause)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def report_markdown(s: dict, info: dict) -> str:
    """The Markdown report of one summarized run; ``info`` holds provenance (dates, sizes, timing)."""
    name, paper = s["dataset"], s["paper"]
    lib, con = s["library"], s["contour"]
    thick = lib["thickness_nm"]
    out = [f"# Paper reproduction (Kumar et al. 2024, Fig. 5): {name}", "",
           f"- Date {info['date']}, xbar {__version__}, scikit-learn {info['sklearn']}, {info['machine']}.",
           f"- Data: {name}, {info['n_train']} training and {info['n_test']} test images, "
           f"{info['n_features']} inputs in [0, 1].",
           f"- Network: {info['n_features']} -> {network.HIDDEN} sigmoid -> {info['n_classes']} softmax, Adam "
           f"(step {network.LEARNING_RATE}), cross-entropy, {network.EPOCHS} epochs, batch {network.BATCH_SIZE}; "
           f"seeds {', '.join(map(str, s['seeds']))}; numbers are mean ± std over seeds.",
           f"- Quantization: levels ±G_k/G_max (k = 0..n), per-layer scale rule `{s['rule']}`, bias `{s['bias']}` "
           "(`row`: the bias is an always-on input row quantized with its layer), nearest level.",
           f"- {info['points']} points{' (quick mode: reduced grid)' if info['quick'] else ''}, "
           f"{info['reused']} of them reused from an earlier run; wall time {info['seconds']:.0f} s "
           "(training included unless cached).", "",
           "## Against the paper", ""]
    rows, why, told = [], [], {}
    for key, label, unit in _METRIC_ROWS:
        ours, ref = s["metrics"][key], paper.get(key)
        if ref is None and name in PAPER:
            continue
        delta = "" if ref is None else f"{ours[0] - ref:+.1f}"
        note = ""
        if ref is not None and abs(ours[0] - ref) > 2:
            note = f"differs by more than 2 pp (note {len(why) + 1})"
            text, cause = _why(s, key)
            if cause:
                text += f" Underlying cause: see note {told[cause]}." if cause in told else f" {cause}"
                told.setdefault(cause, len(why) + 1)
            sign = " Negative: accuracy rises instead of falling." if key.startswith("fall") and ours[0] < 0 else ""
            why.append(f"{len(why) + 1}. **{label}.**{sign} "
                       + (f"Same as note {told[text]}." if text in told else text))
            told.setdefault(text, len(why))
        rows.append([label, "–" if ref is None else f"{ref:g} {unit}", f"{_pm(ours)} {unit}", delta, note])
    b = s["best"]
    rows.append(["best library device", "3 cells, 1.9 nm" if name in PAPER else "–",
                 f"{b['accuracy']:.1f} % ({b['n_cells']} cell{'s' if b['n_cells'] > 1 else ''}, {b['thickness_nm']:.1f} nm)", "", ""])
    note = ""
    if name in PAPER and con["improving_steps"] < con["steps"]:
        note = f"not always (note {len(why) + 1})"
        why.append(f"{len(why) + 1}. **Contour.** Adding cells gains {con['gain_1_to_max_cells']:+.1f} pp on average "
                   f"from 1 to {con['cells'][-1]} cells ({con['gain_1_to_max_cells_high_tmr']:+.1f} pp at "
                   f"{con['tmr_pct'][-1]:.0f} % TMR), while TMR moves accuracy by "
                   f"{con['mean'][0][-1] - con['mean'][0][0]:+.1f} pp for 1 cell: at a given TMR all cell counts "
                   f"share the lowest level 1/(1 + TMR), so the extra states help only the few large weights and "
                   f"single steps are within seed noise. The paper finds the opposite ranking (states dominate TMR).")
    rows.append(["contour: more states always win", "yes" if name in PAPER else "–",
                 f"{con['improving_steps']}/{con['steps']} steps to one more cell improve; most cells best in "
                 f"{con['best_is_most_cells']}/{len(con['tmr_pct'])} TMR columns", "", note])
    out += _table(["quantity", "paper", "xbar", "Δ (pp)", "note"], rows)
    if name not in PAPER:
        out += ["", f"The paper reports no numbers for {name}; the rows show the same quantities for comparison."]
    if why:
        out += ["", "### Why the numbers differ", ""] + why
    out += ["", "## Methods side by side", "",
            f"Full precision: **{_pm(s['full'])} %**. Paper method on the library device at "
            f"{thick[min(range(len(thick)), key=lambda j: abs(thick[j] - 1.9))]:.1f} nm and on the contour "
            f"devices at the ends of the TMR range; the differential pair's levels (k+ - k-)/n equal the paper's "
            "levels of an ideal device (R_AP -> infinity, G_k/G_max = k/n), so one column shows both.", ""]
    i19 = min(range(len(thick)), key=lambda j: abs(thick[j] - 1.9))
    rows = []
    for n in con["cells"]:
        ci = con["cells"].index(n)
        lib_cell = (_pm((lib["mean"][n - 1][i19], lib["std"][n - 1][i19])) if n in lib["cells"] else "–")
        rows.append([str(n), str(n + 1), lib_cell, _pm((con["mean"][ci][0], con["std"][ci][0])),
                     _pm((con["mean"][ci][-1], con["std"][ci][-1])),
                     _pm(s["differential"][n]) if n in s["differential"] else "–", _pm(s["full"])])
    out += _table(["cells", "states", f"paper, {thick[i19]:.1f} nm library",
                   f"paper, TMR {con['tmr_pct'][0]:.0f} %", f"paper, TMR {con['tmr_pct'][-1]:.0f} %",
                   "differential = ideal device", "full precision"], rows)
    out += ["", "Uniform quantization (2^bits levels evenly spaced on [-1, 1], same scale rule and bias):", ""]
    out += _table(["bits", "levels", "accuracy (%)"],
                  [[str(bt), str(2 ** bt), _pm(v)] for bt, v in s["uniform"].items()])
    out += ["", "## Fig. 5b/c: accuracy against TMR, device library", "",
            "![accuracy vs TMR](accuracy_vs_tmr.png)", ""]
    out += _table(["thickness (nm)", "TMR (%)", "R_P (kΩ)"] + [f"{n} cell{'s' if n > 1 else ''}" for n in lib["cells"]],
                  [[f"{t:.1f}", f"{lib['tmr_pct'][j]:.1f}", f"{lib['r_p_ohm'][j] / 1e3:.1f}"]
                   + [_pm((lib["mean"][i][j], lib["std"][i][j])) for i in range(len(lib["cells"]))]
                   for j, t in enumerate(thick)])
    step = max(1, len(con["tmr_pct"]) // 6)
    cols = list(range(0, len(con["tmr_pct"]), step))
    if cols[-1] != len(con["tmr_pct"]) - 1:
        cols.append(len(con["tmr_pct"]) - 1)
    out += ["", "## Fig. 5d/e: accuracy over TMR and number of states (R_P = 10 kΩ)", "",
            "![accuracy contour](accuracy_contour.png)", "",
            "Mean accuracy (%); every column of the grid is in `summary.json`.", ""]
    out += _table(["cells (states)"] + [f"{con['tmr_pct'][j]:.0f} %" for j in cols],
                  [[f"{n} ({n + 1})"] + [f"{con['mean'][i][j]:.1f}" for j in cols] for i, n in enumerate(con["cells"])])
    if s.get("device"):
        out += _device_section(s)
    out += ["", "## Scale rule and bias treatment", "",
            "`mse`: the per-layer scale minimizing the squared quantization error; `max`: scale = max|w|. "
            "`row`: the bias quantized as an extra input row; `float`: full-precision biases.", ""]
    pts = [f"{n}@{t}" for n, t in _RULE_POINTS]
    out += _table(["rule/bias"] + [f"{p.split('@')[0]} cell(s), {p.split('@')[1]} nm" for p in pts],
                  [[k + (" (used)" if k == f"{s['rule']}/{s['bias']}" else "")] + [_pm(v[p]) for p in pts]
                   for k, v in s["rules"].items()])
    if "rerun" in info:
        out += ["", *provenance_markdown(info["rerun"])]
    return "\n".join(out) + "\n"


def _device_section(s: dict) -> list[str]:
    """Report lines comparing the user's device with the library and the ideal device of the same cell count."""
    d, lib = s["device"], s["library"]
    n = d["n_cells"]
    lines = ["", f"## Your device: {d['name']}", "",
             f"{n} cells, {n + 1} states: " + ", ".join(f"{v / 1e3:.2f}" for v in d["state_ohm"])
             + " kΩ (state 0 .. n); spacing between neighbouring states "
             + ", ".join(f"{v:.1f}" for v in d["spacing_pct"]) + f" % (smallest {min(d['spacing_pct']):.1f} %, "
             f"the paper reports at least 21 %); whole-device ratio R_0/R_n - 1 = {d['tmr_pct']:.0f} %; "
             "normalized levels G_k/G_max " + ", ".join(f"{v:.3f}" for v in d["normalized_levels"]) + ".", ""]
    rows = [["your device (paper method)", _pm(d["accuracy"])]]
    if n in lib["cells"]:
        i = lib["cells"].index(n)
        for j, t in enumerate(lib["thickness_nm"]):
            if abs(t - 1.9) < 1e-6 or j in (0, len(lib["thickness_nm"]) - 1):
                rows.append([f"library, {n} identical cells, {t:.1f} nm (TMR {lib['tmr_pct'][j]:.0f} %)",
                             _pm((lib["mean"][i][j], lib["std"][i][j]))])
    if n in s["differential"]:
        rows.append([f"ideal device, {n} cells (differential levels)", _pm(s["differential"][n])])
    rows.append(["full precision", _pm(s["full"])])
    return lines + _table(["device", "accuracy (%)"], rows)


def reproduce(dataset: str = "digits", out_dir: str | os.PathLike = "xbar-reproduce", seeds=DEFAULT_SEEDS,
              quick: bool = False, rule: str = "mse", bias: str = "row", data_dir=None, cache_dir=None,
              progress: bool = False, device_file=None) -> dict:
    """Run the Fig. 5 experiment on ``dataset`` and write the report, figures and summary to ``out_dir``.

    Returns the summary (see :func:`summarize`) with ``info``, the ``report`` path and
    the other written ``files`` added.
    Finished points are kept in ``out_dir/points.jsonl``, so a rerun resumes.
    """
    import sklearn

    seeds = tuple(int(x) for x in seeds)
    if not seeds:
        raise ParameterError("need at least one seed")
    device = None
    if device_file is not None:
        from xbar.device.files import read_device_dict
        device = read_device_dict(device_file)  # checked before anything is written
    start = time.perf_counter()
    out = Path(out_dir)
    name = datasets.canonical_name(dataset)
    data = datasets.load(name, data_dir)
    points = plan(name, seeds, quick, rule, bias, device)
    reused = len(set(map(_key, points)) & set(_read_store(out / "points.jsonl")))
    records = run_points(points, out / "points.jsonl", data_dir, cache_dir, progress)
    s = summarize(records, rule, bias)
    lib, con = s["library"], s["contour"]
    title = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}.get(name, name)
    files = plots.save(plots.accuracy_vs_tmr(
        np.array(lib["tmr_pct"]), np.array(lib["thickness_nm"]),
        {n: np.array(lib["mean"][i]) for i, n in enumerate(lib["cells"])},
        {n: np.array(lib["std"][i]) for i, n in enumerate(lib["cells"])},
        s["full"][0], f"{title}: device library (Fig. 5b/c)"), out / "accuracy_vs_tmr")
    files += plots.save(plots.accuracy_contour(np.array(con["tmr_pct"]), np.array(con["cells"]),
                                               np.array(con["mean"]), f"{title}: R_P = 10 kΩ (Fig. 5d/e)"),
                        out / "accuracy_contour")
    info = {"date": datetime.date.today().isoformat(), "sklearn": sklearn.__version__,
            "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}",
            "n_train": len(data.y_train), "n_test": len(data.y_test), "n_features": data.n_features,
            "n_classes": data.n_classes, "seconds": time.perf_counter() - start, "quick": bool(quick),
            "points": len(points), "reused": reused, "rerun": provenance(dict(training=list(seeds)))}
    write_text(out / "report.md", report_markdown(s, info))
    write_text(out / "summary.json", json.dumps({**s, "info": info}, indent=1))
    files += [out / "summary.json", out / "points.jsonl"]
    return {**s, "info": info, "report": str(out / "report.md"), "files": [str(f) for f in files]}
