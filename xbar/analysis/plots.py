"""Matplotlib figures. Each function builds one self-contained ``Figure`` (no pyplot state).

Accuracies are passed in percent, TMR in percent, thicknesses in nm: these are
report-facing values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from xbar.util.atomic import atomic_open

_CELL_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write ``fig`` as ``<stem>.png`` (150 dpi) and ``<stem>.svg``; return both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    with atomic_open(paths[0]) as f:
        fig.savefig(f, format="png", dpi=150)
    with atomic_open(paths[1]) as f:
        fig.savefig(f, format="svg")
    return paths


def accuracy_vs_tmr(tmr_pct: np.ndarray, thickness_nm: np.ndarray, mean: dict[int, np.ndarray],
                    std: dict[int, np.ndarray], full_precision: float | None = None,
                    title: str = "") -> Figure:
    """Fig. 5b/c: test accuracy against TMR for each cell count, thickness on the top axis.

    ``tmr_pct`` and ``thickness_nm`` are [points]; ``mean[n]`` and ``std[n]`` [points]
    hold the accuracy (%) of ``n``-cell devices.
    """
    fig = Figure(figsize=(5.2, 4.0), layout="constrained")
    ax = fig.add_subplot()
    order = np.argsort(tmr_pct)
    span = float(np.ptp(tmr_pct)) or 1.0
    cells = sorted(mean)
    for i, n in enumerate(cells):
        dx = (i - (len(cells) - 1) / 2) * 0.006 * span  # side by side, so error bars stay readable
        ax.errorbar(tmr_pct[order] + dx, mean[n][order], yerr=std[n][order], marker="o", ms=4, capsize=2,
                    color=_CELL_COLORS[i % len(_CELL_COLORS)], label=f"{n}-cell ({n + 1} states)")
    if full_precision is not None:
        ax.axhline(full_precision, color="0.4", ls="--", lw=1, label="full precision")
    ax.set_xlabel("TMR (%)")
    ax.set_ylabel("test accuracy (%)")
    top = ax.secondary_xaxis("top")
    pick = [order[0]]
    for j in order[1:]:
        if tmr_pct[j] - tmr_pct[pick[-1]] >= 0.07 * span:
            pick.append(j)
    top.set_xticks(tmr_pct[pick], [f"{t:.1f}" for t in thickness_nm[pick]])
    top.set_xlabel("free-layer thickness (nm)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def accuracy_contour(tmr_pct: np.ndarray, n_cells: np.ndarray, accuracy: np.ndarray, title: str = "") -> Figure:
    """Fig. 5d/e: filled contour of test accuracy (%) [cells, tmr] over TMR and state count."""
    fig = Figure(figsize=(5.2, 4.0), layout="constrained")
    ax = fig.add_subplot()
    states = np.asarray(n_cells) + 1
    cs = ax.contourf(tmr_pct, states, accuracy, levels=14, cmap="viridis")
    lines = ax.contour(tmr_pct, states, accuracy, levels=cs.levels[::2], colors="white", linewidths=0.6)
    ax.clabel(lines, fmt="%.1f", fontsize=7)
    fig.colorbar(cs, ax=ax, label="test accuracy (%)")
    ax.set_xlabel("TMR (%)")
    ax.set_ylabel("number of states (cells + 1)")
    ax.set_yticks(states)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def ir_drop_heatmap(rel_loss: np.ndarray, title: str = "") -> Figure:
    """Heat map of a tile's voltage loss per device as a fraction of V_read, ``rel_loss`` [rows, cols]."""
    fig = Figure(figsize=(6.0, 4.8), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(100 * rel_loss, aspect="auto", cmap="magma", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="voltage lost before the cell (% of V_read)")
    ax.set_xlabel("column (physical)")
    ax.set_ylabel("row")
    ax.set_title(title, fontsize=9)
    return fig


def accuracy_vs_wire(by_cells: dict[int, list[tuple[float, float, float]]]) -> Figure:
    """Analog (solid) and ideal quantized (dashed) accuracy against wire ohm per segment, one colour per cell count.

    ``by_cells[n]`` lists (wire_ohm, analog accuracy, ideal accuracy), accuracies in 0..1.
    """
    fig = Figure(figsize=(5.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for k, (n, pts) in enumerate(sorted(by_cells.items())):
        w, acc, ideal = (np.array(v) for v in zip(*sorted(pts)))
        colour = f"C{k}"
        ax.plot(w, 100 * acc, "o-", color=colour, label=f"{n}-cell, analog")
        ax.plot(w, 100 * ideal, "--", color=colour, alpha=0.6, label=f"{n}-cell, ideal quantized")
    ax.set_xlabel("wire resistance per segment (ohm)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def nonlinear_study(by_vh: dict[str, list[tuple[float, float, list[float]]]]) -> Figure:
    """Analog accuracy and per-layer RMS error against V_read, one colour per V_h (bias-dependent TMR).

    ``by_vh[label]`` lists (v_read volt, analog accuracy 0..1, [RMS relative error per layer]).
    """
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    acc_ax, err_ax = fig.subplots(1, 2)
    for k, (label, pts) in enumerate(by_vh.items()):
        pts = sorted(pts)
        v = np.array([p[0] for p in pts])
        acc_ax.plot(v, [100 * p[1] for p in pts], "o-", color=f"C{k}", label=label)
        for l, style in zip(range(len(pts[0][2])), ("o-", "s--", "^:")):
            err_ax.plot(v, [p[2][l] for p in pts], style, color=f"C{k}", label=f"{label}, layer {l}")
    acc_ax.set_ylabel("analog test accuracy (%)")
    err_ax.set_ylabel("RMS output error (of RMS ideal output)")
    err_ax.set_yscale("log")
    for ax in (acc_ax, err_ax):
        ax.set_xlabel("read voltage V_read (V)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig


def study_accuracy(study: str, labels: list[str], analog_pct: list[float], ideal_pct: list[float]) -> Figure:
    """One study of ``xbar infer``: analog and ideal quantized accuracy (%) at each of its points, in order."""
    fig = Figure(figsize=(max(5.0, 0.9 * len(labels) + 2.0), 3.8), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    ax.plot(x, ideal_pct, "s--", color="0.45", label="ideal quantized")
    ax.plot(x, analog_pct, "o-", color="C0", label="analog (circuit)")
    ax.set_xticks(x, labels, rotation=30 if max(map(len, labels)) > 8 else 0, ha="right" if max(map(len, labels)) > 8 else "center")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{study} study: accuracy at each point")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def pareto(energy_pj, accuracy_pct, area_mm2, on_front, paper: int | None = None, title: str = "") -> Figure:
    """Accuracy against energy per inference, area as colour; the Pareto front ringed (over every objective, so
    not a line in this plane), the paper's design (index ``paper``) starred."""
    e, acc, area = (np.asarray(v, dtype=float) for v in (energy_pj, accuracy_pct, area_mm2))
    front = np.asarray(on_front, dtype=bool)
    fig = Figure(figsize=(7.0, 4.6), layout="constrained")
    ax = fig.add_subplot()
    sc = ax.scatter(e, acc, c=area, cmap="viridis", s=22, alpha=0.75, linewidths=0)
    ax.scatter(e[front], acc[front], s=70, facecolors="none", edgecolors="C3", linewidths=1.4,
               label=f"Pareto front ({int(front.sum())} designs)")
    if paper is not None:
        ax.scatter([e[paper]], [acc[paper]], marker="*", s=260, color="C1", edgecolors="k", zorder=5,
                   label="the paper's design")
    ax.set_xscale("log")
    ax.set_xlabel("energy per inference (pJ, array exact + periphery model)")
    ax.set_ylabel("test accuracy on circuits (%)")
    fig.colorbar(sc, ax=ax, label="area (mm^2)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right")
    ax.set_title(title or "design space: accuracy against energy, area as colour", fontsize=9)
    return fig


def analog_vs_ideal(z_ideal: np.ndarray, z_analog: np.ndarray, max_points: int = 20000) -> Figure:
    """Scatter of analog against ideal quantized outputs (same shape), with the identity line."""
    a, b = np.ravel(z_ideal), np.ravel(z_analog)
    if a.size > max_points:
        pick = np.random.default_rng(0).choice(a.size, max_points, replace=False)
        a, b = a[pick], b[pick]
    fig = Figure(figsize=(4.8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(a, b, s=3, alpha=0.4, rasterized=True)  # one image in the SVG, not 20,000 paths
    lim = [min(a.min(), b.min()), max(a.max(), b.max())]
    ax.plot(lim, lim, "k--", lw=1, label="analog = ideal")
    ax.set_xlabel("ideal quantized output (logit)")
    ax.set_ylabel("analog output (logit)")
    ax.legend(fontsize=8)
    return fig


def step_response(times_s: np.ndarray, currents: np.ndarray, final: np.ndarray, band: float,
                  settling_s: np.ndarray, max_lines: int = 16, title: str = "", other=None,
                  other_label: str = "ngspice") -> Figure:
    """Column currents after a step on a log time axis, and below, zoomed on the settling band, each
    column's distance from its final value in bands; dotted lines mark each settling time.

    ``other`` (times [T'], currents [T', cols]), e.g. ngspice's trace, is overlaid dashed in black.
    """
    fig = Figure(figsize=(6.4, 6.0), layout="constrained")
    top, zoom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    t = np.asarray(times_s) * 1e9
    keep = t > 0  # a log axis: the t = 0 point (all sources at 0 V) is left out
    cols = np.argsort(-np.abs(final))[:max_lines]
    for j in cols:
        line, = top.plot(t[keep], currents[keep, j] * 1e6, lw=1)
        zoom.plot(t[keep], (currents[keep, j] - final[j]) / band, lw=1, color=line.get_color())
        top.axhspan((final[j] - band) * 1e6, (final[j] + band) * 1e6, color=line.get_color(), alpha=0.12)
        if np.isfinite(settling_s[j]) and settling_s[j] > 0:
            for ax in (top, zoom):
                ax.axvline(settling_s[j] * 1e9, color=line.get_color(), lw=0.6, ls=":")
    if other is not None:
        ot, oc = np.asarray(other[0]) * 1e9, np.asarray(other[1])
        okeep = ot > 0
        for k, j in enumerate(cols):
            top.plot(ot[okeep], oc[okeep, j] * 1e6, "k--", lw=0.7, label=other_label if k == 0 else None)
            zoom.plot(ot[okeep], (oc[okeep, j] - final[j]) / band, "k--", lw=0.7)
        top.legend(loc="best", fontsize="small")
    zoom.axhspan(-1, 1, color="0.85", zorder=0)
    zoom.set_ylim(-5, 5)
    zoom.set_xscale("log")
    zoom.set_xlabel("time after the step (ns, log)")
    zoom.set_ylabel("(I - final) / band")
    top.set_ylabel("column current (uA)")
    top.set_title(title or f"step response ({len(cols)} largest columns), band +-{band * 1e6:.3g} uA")
    return fig


def energy_breakdown(parts_j: dict[str, float], periphery_j: dict[str, float] | None = None,
                     title: str = "") -> Figure:
    """Horizontal bars of energy per part (fJ): exact array parts, then periphery models (hatched)."""
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    names = [k for k in parts_j if k != "total"]
    values = [parts_j[k] * 1e15 for k in names]
    colors = ["#1f77b4"] * len(names)
    hatches = [""] * len(names)
    for k, v in (periphery_j or {}).items():
        names.append(f"{k} (model)"), values.append(v * 1e15), colors.append("#ff7f0e"), hatches.append("//")
    y = np.arange(len(names))
    bars = ax.barh(y, values, color=colors)
    for bar, h in zip(bars, hatches):
        bar.set_hatch(h)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("energy (fJ)")
    ax.set_title(title or "energy breakdown: array (exact) and periphery (models)")
    return fig
