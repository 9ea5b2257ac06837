"""Weights <-> device states and conductances, and tiling into physical arrays.

A layer's weights and bias form the augmented matrix ``[W; b]`` of shape
[in + 1, out]: the bias is one more row, driven at a fixed voltage. Two schemes
turn a signed weight into devices, each in one of its n + 1 states k:

* ``differential`` (default): a pair of columns per output, w = s (G+ - G-) / (n dG)
  with dG = 1/R_P - 1/R_AP. Since G_k = n/R_AP + k dG, G+ - G- = (k+ - k-) dG
  exactly, so the levels are (k+ - k-)/n in -1..1 (2n + 1 levels, zero included).
  A level d is stored as k+ = max(d, 0), k- = max(-d, 0).
* ``reference``: one column per output, w = s (G - G_ref) / (n dG / 2), with G_ref
  the mean of two reference columns per tile whose devices sit in states 0 and
  n. The levels are (2k - n)/n (n + 1 levels); the reference columns see the
  same wires as the weights.

The scale s of a layer comes from :func:`xbar.network.quantize.layer_scale`. Every
physical array is solved as a circuit; the signed matrix is never solved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xbar.device.compound import MAX_CELLS, CompoundMTJ
from xbar.util.errors import ParameterError
from xbar.network.quantize import layer_scale, nearest
from xbar.util.validate import choice, int_array, integer, real, real_array

SCHEMES = ("differential", "reference")


def scheme_levels(scheme: str, n_cells: int, fractions=None) -> np.ndarray:
    """Normalized weight levels of a scheme, ascending, in -1..1.

    ``fractions`` [n_cells + 1] are the device's (G_k - G_0)/(G_n - G_0)
    (:meth:`~xbar.device.compound.CompoundMTJ.level_fractions`); None means identical
    cells, k/n. Differential levels are +/-f_k, reference levels 2 f_k - 1.
    """
    if fractions is not None:
        f = np.asarray(fractions, dtype=float)
        if scheme == "differential":
            return np.concatenate([-f[:0:-1], f])
        if scheme == "reference":
            return 2.0 * f - 1.0
    elif scheme == "differential":
        return np.arange(-n_cells, n_cells + 1) / n_cells
    elif scheme == "reference":
        return (2.0 * np.arange(n_cells + 1) - n_cells) / n_cells
    raise ParameterError(f"unknown mapping scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")


@dataclass(frozen=True)
class MappedLayer:
    """One layer as device states of its (untiled) logical array.

    ``states`` [in + 1, out, 2] holds (k+, k-) for ``differential`` and
    [in + 1, out, 1] holds k for ``reference``; the last row is the bias.
    ``scale`` turns a normalized level into a weight. ``fractions`` are the
    device's level fractions when its states are uneven (None: k/n).
    """

    states: np.ndarray
    scale: float
    scheme: str
    n_cells: int
    fractions: tuple[float, ...] | None = None

    def __post_init__(self):
        object.__setattr__(self, "states", int_array("states", self.states, 3))
        object.__setattr__(self, "scale", real("scale", self.scale, low=0.0))
        choice("mapping scheme", self.scheme, SCHEMES)
        object.__setattr__(self, "n_cells", integer("n_cells", self.n_cells, low=1, high=MAX_CELLS))
        if self.fractions is not None:
            f = real_array("fractions", self.fractions, 1)
            if f.shape != (self.n_cells + 1,) or np.any(np.diff(f) <= 0):
                raise ParameterError(f"fractions must be {self.n_cells + 1} ascending level fractions, one per state")
            object.__setattr__(self, "fractions", tuple(f.tolist()))

    @property
    def shape(self) -> tuple[int, int]:
        """(in + 1, out) of the augmented matrix."""
        return self.states.shape[0], self.states.shape[1]

    def levels(self) -> np.ndarray:
        """Normalized level of each weight, [in + 1, out]."""
        n = self.n_cells
        if self.fractions is not None:
            f = np.asarray(self.fractions)
            if self.scheme == "differential":
                return f[self.states[..., 0]] - f[self.states[..., 1]]
            return 2.0 * f[self.states[..., 0]] - 1.0
        if self.scheme == "differential":
            return (self.states[..., 0] - self.states[..., 1]) / n
        return (2.0 * self.states[..., 0] - n) / n

    def weights(self) -> np.ndarray:
        """The quantized augmented matrix [in + 1, out] the states encode."""
        return self.scale * self.levels()


def map_layer(w_aug: np.ndarray, n_cells: int, scheme: str = "differential", rule: str = "mse",
              fractions=None) -> MappedLayer:
    """Quantize the augmented matrix ``w_aug`` [in + 1, out] onto device states.

    ``fractions``: the device's uneven level fractions (None: identical cells).
    """
    w_aug = np.asarray(w_aug, dtype=np.float64)
    if w_aug.ndim != 2 or not np.isfinite(w_aug).all():
        raise ParameterError(f"weights must be a finite 2-D array, got shape {list(w_aug.shape)}")
    levels = scheme_levels(scheme, n_cells, fractions)
    scale = layer_scale(w_aug, levels, rule)
    idx = nearest(w_aug / scale, levels)
    return MappedLayer(states_from_levels(idx, n_cells, scheme), scale, scheme, n_cells,
                       None if fractions is None else tuple(float(v) for v in fractions))


def states_from_levels(idx: np.ndarray, n_cells: int, scheme: str) -> np.ndarray:
    """Device states for level indices into :func:`scheme_levels`: [..., 2] or [..., 1]."""
    idx = np.asarray(idx)
    if scheme == "differential":
        d = idx - n_cells
        return np.stack([np.maximum(d, 0), np.maximum(-d, 0)], axis=-1)
    return idx[..., None].copy()


def conductance_step(device: CompoundMTJ) -> float:
    """dG = 1/R_P - 1/R_AP in siemens: the conductance one cell adds when it switches to P.

    For cells that differ it is the mean step, (G_n - G_0)/n, since ``device.mtj`` is their mean.
    """
    return 1.0 / device.mtj.r_p - 1.0 / device.mtj.r_ap


def weights_from_conductances(g: np.ndarray, device: CompoundMTJ, scheme: str, scale: float,
                              g_ref: np.ndarray | None = None) -> np.ndarray:
    """Inverse of the mapping: weights [in + 1, out] from conductances.

    ``g`` [in + 1, out, 2] holds (G+, G-) for ``differential``; for ``reference``
    ``g`` [in + 1, out, 1] and ``g_ref`` [in + 1] the reference conductance per row.
    """
    n, dg = device.n_cells, conductance_step(device)
    if scheme == "differential":
        return scale * (g[..., 0] - g[..., 1]) / (n * dg)
    return scale * (g[..., 0] - g_ref[:, None]) / (n * dg / 2.0)


def conductances(mapped: MappedLayer, device: CompoundMTJ) -> np.ndarray:
    """Nominal device conductances in siemens for the states, same shape as ``mapped.states``."""
    return device.conductances()[mapped.states]


@dataclass(frozen=True)
class Tile:
    """One physical array of a layer.

    ``rows`` (start, stop) into the augmented matrix's rows; ``outputs`` (start,
    stop) into the layer's outputs. ``states`` [tile_rows, physical_cols] are the
    devices' states. Differential columns alternate (+, -) per output; reference
    tiles end with two reference columns (all devices in state 0, then n).
    """

    layer: int
    index: tuple[int, int]
    rows: tuple[int, int]
    outputs: tuple[int, int]
    states: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "layer", integer("layer", self.layer, low=0))
        for name in ("index", "rows", "outputs"):
            pair = getattr(self, name)
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise ParameterError(f"tile {name} must be a pair of integers, got {pair!r}")
            object.__setattr__(self, name, tuple(integer(f"tile {name}", v, low=0) for v in pair))
        object.__setattr__(self, "states", int_array("tile states", self.states, (2, 3), bools=True))


def outputs_per_tile(scheme: str, tile_cols: int) -> int:
    """How many layer outputs fit in ``tile_cols`` physical columns."""
    per = tile_cols // 2 if scheme == "differential" else tile_cols - 2
    if per < 1:
        raise ParameterError(f"a tile of {tile_cols} columns holds no output with the {scheme} scheme "
                             f"(needs at least {2 if scheme == 'differential' else 3})")
    return per


def tile_layer(mapped: MappedLayer, layer: int, tile_rows: int | None, tile_cols: int | None) -> list[Tile]:
    """Split a mapped layer into tiles of at most ``tile_rows`` x ``tile_cols`` devices.

    ``None`` leaves that dimension whole (one array). A tile larger than the
    layer is fine: the layer then fits in one tile.
    """
    n_rows, n_out = mapped.shape
    for name, size in (("tile rows", tile_rows), ("tile columns", tile_cols)):
        if size is not None and (int(size) != size or size < 1):
            raise ParameterError(f"{name} must be a positive integer or None, got {size!r}")
    step_r = n_rows if tile_rows is None else int(tile_rows)
    step_o = n_out if tile_cols is None else outputs_per_tile(mapped.scheme, int(tile_cols))
    tiles = []
    for ti, r0 in enumerate(range(0, n_rows, step_r)):
        r1 = min(r0 + step_r, n_rows)
        for tj, o0 in enumerate(range(0, n_out, step_o)):
            o1 = min(o0 + step_o, n_out)
            block = mapped.states[r0:r1, o0:o1]
            if mapped.scheme == "differential":
                states = block.reshape(r1 - r0, -1)
            else:
                ref = np.repeat([[0, mapped.n_cells]], r1 - r0, axis=0)
                states = np.concatenate([block[..., 0], ref], axis=1)
            tiles.append(Tile(layer, (ti, tj), (r0, r1), (o0, o1), states))
    return tiles


def tile_outputs(currents: np.ndarray, tile: Tile, scheme: str) -> np.ndarray:
    """Signed output currents [batch, outputs] of a tile from its column currents [batch, physical_cols].

    Differential: I+ - I-. Reference: I - (I_ref0 + I_refn) / 2, i.e. relative to
    the mid-range conductance.
    """
    if scheme == "differential":
        return currents[:, 0::2] - currents[:, 1::2]
    return currents[:, :-2] - 0.5 * (currents[:, -2:-1] + currents[:, -1:])


def current_gain(device: CompoundMTJ, scheme: str, scale: float, v_read: float) -> float:
    """Weight units per ampere: pre-activation z = gain * signed tile current, summed over tiles.

    An input activation a drives its row at a * ``v_read``.
    """
    n, dg = device.n_cells, conductance_step(device)
    unit = n * dg if scheme == "differential" else n * dg / 2.0
    return scale / (unit * v_read)
