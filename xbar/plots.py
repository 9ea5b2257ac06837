"""Matplotlib figures. Each function builds one self-contained ``Figure`` (no pyplot state).

Accuracies are passed in percent, TMR in percent, thicknesses in nm: these are
report-facing values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

_CELL_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write ``fig`` as ``<stem>.png`` (150 dpi) and ``<stem>.svg``; return both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
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
    for i, n in enumerate(sorted(mean)):
        ax.errorbar(tmr_pct[order], mean[n][order], yerr=std[n][order], marker="o", ms=4, capsize=2,
                    color=_CELL_COLORS[i % len(_CELL_COLORS)], label=f"{n}-cell ({n + 1} states)")
    if full_precision is not None:
        ax.axhline(full_precision, color="0.4", ls="--", lw=1, label="full precision")
    ax.set_xlabel("TMR (%)")
    ax.set_ylabel("test accuracy (%)")
    top = ax.secondary_xaxis("top")
    pick = order[:: max(1, len(order) // 6)]
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
