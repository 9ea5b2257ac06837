"""Pareto fronts: the designs no other design beats on every objective at once."""

from __future__ import annotations

import numpy as np

from xbar.util.errors import ParameterError


def pareto_front(values, maximize) -> np.ndarray:
    """bool [n]: which of the ``n`` designs (rows of ``values`` [n, k]) are non-dominated.

    ``maximize`` [k]: True for objectives to maximize (accuracy, yield), False to minimize (energy,
    area). A design is dominated when another is at least as good on every objective and strictly
    better on one; equal designs (ties on every objective) do not dominate each other, so all stay.
    """
    v = np.asarray(values, dtype=float)
    sense = np.asarray(maximize, dtype=bool)
    if v.ndim != 2 or sense.shape != (v.shape[1],):
        raise ParameterError(f"values must be [designs, objectives] with one sense per objective, got "
                             f"{list(v.shape)} and {list(sense.shape)}")
    if not np.isfinite(v).all():
        raise ParameterError("objective values must be finite")
    v = np.where(sense, -v, v)  # every objective minimized
    better_eq = (v[:, None, :] <= v[None, :, :]).all(axis=2)  # [i, j]: i at least as good as j everywhere
    strictly = (v[:, None, :] < v[None, :, :]).any(axis=2)
    dominated = (better_eq & strictly).any(axis=0)
    return ~dominated
