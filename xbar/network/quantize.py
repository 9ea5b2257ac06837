"""Quantization of trained weights to the conductance levels of compound SOT-MTJs.

Level sets are normalized to a largest magnitude of 1 and sorted ascending:

* **paper** (Methods): +/-G_k/G_max for k = 0..n, the normalized states of an
  n-cell device used with a sign (2(n+1) levels, no zero since G_0 = n/R_AP > 0);
* **differential**: a pair of devices read as G+ - G- = (k+ - k-)(1/R_P - 1/R_AP),
  i.e. (-n..n)/n. These include zero and do not depend on the TMR; they are also
  the paper's levels of an ideal device (R_AP -> infinity, G_k/G_max = k/n);
* **uniform**: 2**bits evenly spaced levels on [-1, 1], for comparison.

A layer's weights w are mapped to ``scale * level``, with the nearest level of
``w / scale``. The scale rules (one scale per layer):

* ``"max"``: scale = max|w|, so the largest weight lands on the top level;
* ``"mse"``: the scale that minimizes the quantization error sum (w - q)^2, found
  by a log-spaced search over 0.01..2 max|w| and refined by alternating
  assignment and least-squares scale (Lloyd steps). It is the default because it
  wastes no levels on the rare largest weights (see the report of ``xbar reproduce``).

Biases: by default (``bias="row"``) each layer's bias is an extra always-on input
row, so the augmented matrix [W; b] of shape [in + 1, out] is quantized with one
scale, as a crossbar with a bias row driven at full input would hold it.
``bias="float"`` keeps biases at full precision and quantizes only W.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xbar.device.compound import CompoundMTJ, MAX_CELLS
from xbar.util.errors import ParameterError
from xbar.network.mlp import Network
from xbar.util.validate import choice, instance, int_array, real_array

#: Scale rules :func:`layer_scale` knows.
SCALE_RULES = ("mse", "max")
#: Bias treatments :func:`quantize_network` knows.
BIAS_MODES = ("row", "float")

_SEARCH = np.geomspace(0.01, 2.0, 96)
_LLOYD_STEPS = 30


def paper_levels(device: CompoundMTJ) -> np.ndarray:
    """The paper's levels +/-G_k/G_max, k = 0..n, shape [2(n + 1)], ascending.

    1 cell at TMR 100 % gives [-1, -0.5, 0.5, 1].
    """
    g = device.normalized_levels()
    return np.concatenate([-g[::-1], g])


def differential_levels(n_cells: int) -> np.ndarray:
    """Levels (k+ - k-)/n of a differential pair of n-cell devices, shape [2n + 1], ascending."""
    if not isinstance(n_cells, (int, np.integer)) or not 1 <= n_cells <= MAX_CELLS:
        raise ParameterError(f"n_cells must be an integer in 1..{MAX_CELLS}, got {n_cells!r}")
    return np.arange(-n_cells, n_cells + 1) / n_cells


def uniform_levels(bits: int) -> np.ndarray:
    """2**bits evenly spaced levels on [-1, 1], shape [2**bits], ascending."""
    if not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
        raise ParameterError(f"bits must be an integer in 1..16, got {bits!r}")
    return np.linspace(-1.0, 1.0, 2 ** int(bits))


def _check_levels(levels: np.ndarray) -> np.ndarray:
    levels = np.asarray(levels, dtype=np.float64)
    if levels.ndim != 1 or levels.size < 2 or not np.all(np.isfinite(levels)) or np.any(np.diff(levels) <= 0):
        raise ParameterError("levels must be a 1-D ascending array of at least 2 distinct finite values")
    return levels


def nearest(x: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Index of the nearest level for every entry of ``x`` (same shape; ties go down)."""
    levels = _check_levels(levels)
    return np.searchsorted(0.5 * (levels[1:] + levels[:-1]), x, side="left")


def _sq_error(w: np.ndarray, levels: np.ndarray, scale: float) -> float:
    return float(np.sum((w - scale * levels[nearest(w / scale, levels)]) ** 2))


def layer_scale(w: np.ndarray, levels: np.ndarray, rule: str = "mse") -> float:
    """The scale of one layer's weights ``w`` (any shape) under ``rule`` (see :data:`SCALE_RULES`)."""
    levels = _check_levels(levels)
    w = np.asarray(w, dtype=np.float64).ravel()
    top = float(np.max(np.abs(w))) / float(np.max(np.abs(levels)))
    if rule not in SCALE_RULES:
        raise ParameterError(f"unknown scale rule {rule!r}: choose one of {', '.join(SCALE_RULES)}")
    if top == 0.0 or rule == "max":
        return top or 1.0
    errors = [_sq_error(w, levels, s) for s in top * _SEARCH]
    best = top * float(_SEARCH[int(np.argmin(errors))])
    best_err = min(errors)
    for _ in range(_LLOYD_STEPS):
        q = levels[nearest(w / best, levels)]
        s = float(np.dot(w, q) / np.dot(q, q))
        err = _sq_error(w, levels, s) if s > 0 else np.inf
        if err >= best_err:
            break
        best, best_err = s, err
    return best


def quantize_layer(w: np.ndarray, levels: np.ndarray, rule: str = "mse") -> tuple[np.ndarray, np.ndarray, float]:
    """Quantize one weight array: (values ``scale * levels[idx]``, indices ``idx``, ``scale``).

    Shapes of the values and indices equal ``w.shape``.
    """
    levels = _check_levels(levels)
    w = np.asarray(w, dtype=np.float64)
    scale = layer_scale(w, levels, rule)
    idx = nearest(w / scale, levels)
    return scale * levels[idx], idx, scale


@dataclass(frozen=True)
class Quantized:
    """A quantized network and how it was made.

    ``indices[l]`` holds each weight's level index into ``levels``: shape
    [in + 1, out] with the bias as the last row when ``bias == "row"``, else
    [in, out]. ``scales`` [layers] maps levels back to weights.
    """

    network: Network
    indices: list[np.ndarray]
    scales: np.ndarray
    levels: np.ndarray
    bias: str

    def __post_init__(self):
        instance("network", self.network, Network)
        if not isinstance(self.indices, (list, tuple)):
            raise ParameterError("indices must be a list of integer arrays, one per layer")
        object.__setattr__(self, "indices", [int_array(f"indices[{l}]", a, 2) for l, a in enumerate(self.indices)])
        object.__setattr__(self, "scales", real_array("scales", self.scales, 1))
        object.__setattr__(self, "levels", real_array("levels", self.levels, 1))
        choice("bias treatment", self.bias, BIAS_MODES)


def quantize_network(network: Network, levels: np.ndarray, rule: str = "mse", bias: str = "row") -> Quantized:
    """Quantize every layer of ``network`` to ``levels`` with one scale per layer.

    ``bias="row"`` quantizes [W; b] together (the bias is an always-on input row);
    ``bias="float"`` quantizes W only and keeps b.
    """
    if bias not in BIAS_MODES:
        raise ParameterError(f"unknown bias treatment {bias!r}: choose one of {', '.join(BIAS_MODES)}")
    levels = _check_levels(levels)
    weights, biases, indices, scales = [], [], [], []
    for w, b in zip(network.weights, network.biases):
        if bias == "row":
            q, idx, s = quantize_layer(np.vstack([w, b[None, :]]), levels, rule)
            weights.append(q[:-1])
            biases.append(q[-1])
        else:
            q, idx, s = quantize_layer(w, levels, rule)
            weights.append(q)
            biases.append(np.array(b, dtype=np.float64))
        indices.append(idx)
        scales.append(s)
    return Quantized(Network(weights, biases), indices, np.array(scales), levels, bias)


def paper_states(indices: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into :func:`paper_levels` of an n-cell device into (negative, k).

    ``negative`` (bool) is the weight's sign, ``k`` (int, 0..n) the number of
    cells in P; index n + 1 + k is +G_k/G_max and index n - k is -G_k/G_max.
    """
    indices = np.asarray(indices)
    if indices.size and (indices.min() < 0 or indices.max() > 2 * n_cells + 1):
        raise ParameterError(f"level indices of a {n_cells}-cell device are 0..{2 * n_cells + 1}")
    negative = indices <= n_cells
    return negative, np.where(negative, n_cells - indices, indices - n_cells - 1)
