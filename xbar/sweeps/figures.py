"""Figures drawn from a sweep's records (the list that :func:`xbar.sweeps.store.load_records` returns).

A grid's ``[figure]`` table names one of :data:`FIGURES` as ``kind`` plus that
function's keyword arguments; :func:`draw` dispatches. Every function averages the
metric over the axes it does not plot (seeds, typically) and returns one Figure per
panel value, keyed by it.
"""

from __future__ import annotations

import inspect

import numpy as np
from matplotlib.figure import Figure

from xbar.analysis import plots
from xbar.util.errors import ParameterError
from xbar.sweeps.field_labels import axis
from xbar.sweeps.store import flat_rows


def mean_grid(rows: list[dict], x: str, y: str, z: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``x`` [nx] and ``y`` [ny] values, and mean and std of ``z`` over all other axes [ny, nx].

    Cells without a finished point are NaN.
    """
    for name in (x, y, z):
        if rows and name not in rows[0]:
            raise ParameterError(f"records have no field {name!r}; they have {', '.join(rows[0])}")
        bad = [r.get(name) for r in rows if not _is_number(r.get(name))]
        if bad:
            raise ParameterError(f"figure axis {name!r} must be a numeric field, but it holds {bad[0]!r}")
    xs, ys = sorted({r[x] for r in rows}), sorted({r[y] for r in rows})
    values = [[[] for _ in xs] for _ in ys]
    for r in rows:
        values[ys.index(r[y])][xs.index(r[x])].append(float(r[z]))
    mean = np.array([[np.mean(v) if v else np.nan for v in line] for line in values])
    std = np.array([[np.std(v) if v else np.nan for v in line] for line in values])
    return np.array(xs, dtype=float), np.array(ys, dtype=float), mean, std


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def _panels(records: list[dict], panels: str | None) -> dict[str, list[dict]]:
    rows = flat_rows(records)
    if not rows:
        raise ParameterError("no finished records to draw")
    if panels is None:
        return {"all": rows}
    if panels not in rows[0]:
        raise ParameterError(f"records have no field {panels!r} to split panels by")
    return {str(v): [r for r in rows if r[panels] == v] for v in dict.fromkeys(r[panels] for r in rows)}


def accuracy_contours(records: list[dict], x: str = "tmr", y: str = "n_cells", z: str = "accuracy",
                      panels: str | None = "dataset") -> dict[str, Figure]:
    """Fig. 5d/e from ``paper`` records: mean accuracy (0..1) over TMR (fraction) and cell count, per panel."""
    figures = {}
    for name, rows in _panels(records, panels).items():
        xs, ys, mean, _ = mean_grid(rows, x, y, z)
        figures[name] = plots.accuracy_contour(xs * 100, ys.astype(int), mean * 100,
                                               title=name if panels else "")
    return figures


def metric_lines(records: list[dict], x: str, hue: str, z: str, panels: str | None = None,
                 logx: bool = False) -> dict[str, Figure]:
    """Mean ``z`` (error bars: std over the other axes) against ``x``, one line per ``hue`` value, per panel.

    Axes carry labels with units from :mod:`xbar.sweeps.field_labels`; fractions are shown as percentages.
    """
    figures = {}
    (x_label, x_scale), (z_label, z_scale), (hue_label, hue_scale) = axis(x), axis(z), axis(hue)
    for name, rows in _panels(records, panels).items():
        xs, hues, mean, std = mean_grid(rows, x, hue, z)
        xs, hues, mean, std = xs * x_scale, hues * hue_scale, mean * z_scale, std * z_scale
        fig = Figure(figsize=(5.2, 3.8), layout="constrained")
        ax = fig.add_subplot()
        for h, m, s in zip(hues, mean, std):
            ax.errorbar(xs, m, yerr=s, marker="o", ms=4, capsize=3, label=f"{hue_label}: {h:g}")
        if logx:
            ax.set_xscale("symlog", linthresh=min((v for v in xs if v > 0), default=1.0))
        ax.set_xticks(xs, [f"{v:g}" for v in xs], minor=False)
        ax.minorticks_off()
        ax.set_xlabel(x_label)
        ax.set_ylabel(z_label)
        ax.legend(fontsize=8)
        if panels:
            ax.set_title(name, fontsize=10)
        figures[name] = fig
    return figures


#: Figure kinds a grid's ``[figure]`` table can name.
FIGURES = {"accuracy_contours": accuracy_contours, "metric_lines": metric_lines}


#: Options of the figure functions that name a record field, and those that must be numeric.
_FIELD_OPTIONS = ("x", "y", "z", "hue", "panels")
_NUMERIC_OPTIONS = ("x", "y", "z", "hue")


def check(spec: dict, axes: dict | None = None) -> None:
    """Raise :class:`ParameterError` unless ``spec`` names a figure kind with valid options.

    With the grid's ``axes``, a numeric figure axis that names a grid axis of
    non-numbers (``sense = ["tia", "resistor"]``) is refused before anything runs.
    """
    if not isinstance(spec, dict):
        raise ParameterError(f"figure must be a table, got {spec!r}")
    options = dict(spec)
    kind = options.pop("kind", None)
    if not isinstance(kind, str) or kind not in FIGURES:
        raise ParameterError(f"unknown figure kind {kind!r}; choose one of {', '.join(FIGURES)}")
    try:
        bound = inspect.signature(FIGURES[kind]).bind([], **options)
    except TypeError as exc:
        raise ParameterError(f"figure {kind!r}: {exc}") from None
    bound.apply_defaults()
    for name, value in bound.arguments.items():
        if name in _FIELD_OPTIONS and not (isinstance(value, str) or (name == "panels" and value is None)):
            raise ParameterError(f"figure {kind!r}: {name} must name a field, got {value!r}")
        if name == "logx" and not isinstance(value, bool):
            raise ParameterError(f"figure {kind!r}: logx must be true or false, got {value!r}")
        if name in _NUMERIC_OPTIONS and axes and value in axes:
            bad = [v for v in axes[value] if not _is_number(v)]
            if bad:
                raise ParameterError(f"figure {kind!r}: {name} = {value!r} is not numeric (the grid gives it "
                                     f"{bad[0]!r}); plot a numeric field, or use it as panels")


def draw(records: list[dict], spec: dict) -> dict[str, Figure]:
    """The figures a grid's ``[figure]`` table ``spec`` describes, drawn from ``records``."""
    check(spec)
    options = dict(spec)
    return FIGURES[options.pop("kind")](records, **options)
