"""A network as placed on circuits: each layer mapped onto device states, split into tiles, each tile's
physical array, circuit, factorized solver and exact effective matrix (cached on disk by everything that
defines the circuit). Evaluating it (inputs, ADC, noise, calibration) is :mod:`xbar.network.analog`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from xbar import __version__
from xbar.array.circuit import Circuit, build_circuit
from xbar.array.crossbar import Crossbar
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.mapping import MappedLayer, Tile, current_gain, map_layer, tile_layer
from xbar.network.mlp import Network
from xbar.network.models import Model, from_network
from xbar.solvers import NativeSolver, make_solver
from xbar.solvers.ideal import summed_conductance
from xbar.solvers.newton import NewtonSolver
from xbar.util.atomic import atomic_open
from xbar.util.errors import ParameterError
from xbar.util.files import open_file, parsing

#: Part of every cached effective matrix's key: bump it when the circuit model or solver
#: changes what a tile's matrix is, so stale files on disk are never reused.
MATRIX_CACHE_FORMAT = 2


class PlacedNetwork:
    """A trained network placed on compound-MTJ tiles: device states, tiles, their arrays, circuits and exact matrices.

    ``network``: the paper's MLP (:class:`~xbar.network.mlp.Network`) or any
    :class:`~xbar.network.models.Model`; every matrix product (dense layer, or
    convolution through im2col) goes onto tiles, the rest stays digital.
    ``input_scales`` (one per matrix layer, default 1): the activation that
    drives a row at ``v_read``; layer l's weights are mapped as ``[s_l W; b]``
    and its inputs drive ``v_read * a / s_l`` (exact, no clipping), so inputs
    beyond [0, 1] (ReLU, normalized images) use the same voltage range.
    ``cache_dir``: where effective matrices are kept between runs (keyed by
    everything that defines a tile's circuit); None keeps them in memory only.
    """

    def __init__(self, network: Network | Model, spec: CircuitSpec, cache_dir: str | os.PathLike | None = None,
                 input_scales=None):
        self.network = network
        self.model = network if isinstance(network, Model) else from_network(network)
        self.spec = spec
        self.device = spec.device()
        matrices = self.model.matrix_layers()
        scales = np.ones(len(matrices)) if input_scales is None else np.asarray(input_scales, dtype=float)
        if scales.shape != (len(matrices),) or not (np.isfinite(scales).all() and (scales > 0).all()):
            raise ParameterError(f"input_scales must be {len(matrices)} finite values > 0, one per matrix layer")
        self.input_scales = scales
        self.layers: list[MappedLayer] = [
            map_layer(np.vstack([w if s == 1 else s * w, b[None, :]]), self.device.n_cells, spec.scheme, spec.rule,
                      self.device.level_fractions() if self.device.cells else None)
            for (w, b), s in zip(matrices, scales)]
        self.tiles: list[list[Tile]] = [tile_layer(m, l, spec.tile_rows, spec.tile_cols)
                                        for l, m in enumerate(self.layers)]
        self.gains = [current_gain(self.device, spec.scheme, m.scale, spec.v_read) for m in self.layers]
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._matrices: dict[tuple, np.ndarray] = {}
        self._circuits: dict[tuple, Circuit] = {}
        self._crossbars: dict[tuple, Crossbar] = {}
        self._solvers: dict[tuple, NativeSolver | NewtonSolver] = {}
        self._ideal: dict[tuple, np.ndarray] = {}
        #: Devices disconnected from their array (a shorted junction's read transistor held off, or a fuse),
        #: bool [rows, cols] by (layer, tile index); set by :mod:`xbar.network.mitigation`.
        self.disconnected: dict[tuple, np.ndarray] = {}

    @property
    def linear(self) -> bool:
        """Whether every tile is a linear circuit (linear junctions, no access transistor): then each tile has an
        exact effective matrix and input admittance."""
        return self.device.mtj.linear and self.spec.access is None

    def crossbar(self, tile: Tile) -> Crossbar:
        """The physical array of ``tile``, with its own variation seed (made once)."""
        key = (tile.layer, tile.index)
        if key not in self._crossbars:
            self._crossbars[key] = self._make_crossbar(tile)
        return self._crossbars[key]

    def tile_seed(self, tile: Tile) -> int:
        """The seed of ``tile``'s variation and faults: its own, from ``spec.variation_seed`` and its place."""
        s = self.spec
        return int(np.random.SeedSequence([s.variation_seed, tile.layer, *tile.index]).generate_state(1)[0])

    def _make_crossbar(self, tile: Tile, device=None, off: np.ndarray | None = None) -> Crossbar:
        """``tile``'s array in its states (``device`` instead of the spec's, e.g. linearized); disconnected
        devices (``off`` [rows, cols], default :attr:`disconnected`) are absent from it, every cell open."""
        s, seed = self.spec, self.tile_seed(tile)
        common = dict(row_wire_ohm=s.wire_ohm, col_wire_ohm=s.wire_ohm, driver_ohm=s.driver_ohm,
                      access_ohm=s.access_ohm, sense=s.sense, ref_ohm=s.ref_ohm, access=s.access,
                      temperature_c=s.temperature_c)
        xb = Crossbar(device or self.device, tile.states, variation=s.variation(seed), faults=s.faults(seed), **common)
        off = self.disconnected.get((tile.layer, tile.index)) if off is None else off
        if off is None or not off.any():
            return xb
        r = xb.cell_resistance_ohm.copy()
        r[off] = np.inf
        return Crossbar(xb.device, xb.states, cell_resistance_ohm=r, **common)

    def circuit(self, tile: Tile) -> Circuit:
        """The tile's circuit, built and checked once."""
        key = (tile.layer, tile.index)
        if key not in self._circuits:
            self._circuits[key] = build_circuit(self.crossbar(tile))
        return self._circuits[key]

    def solver(self, tile: Tile) -> NativeSolver | NewtonSolver:
        """The tile's factorized native solver (Newton's for non-linear junctions), kept for later solves."""
        key = (tile.layer, tile.index)
        if key not in self._solvers:
            c = self.circuit(tile)
            self._solvers[key] = make_solver(c)
        return self._solvers[key]

    def _key(self, tile: Tile) -> str:
        xb = self.crossbar(tile)
        h = hashlib.sha256()
        fields = {k: v for k, v in asdict(self.spec).items()
                  if k not in ("adc_bits", "adc_full_scale_a", "rule", "scheme", "tile_rows", "tile_cols",
                               "calibration_images", "read_noise_t_s", "noise_seed", "v_read", "periphery")}
        h.update(repr((__version__, MATRIX_CACHE_FORMAT, fields, xb.device, xb.cell_resistance_ohm.shape)).encode())
        h.update(np.ascontiguousarray(xb.cell_resistance_ohm).tobytes())
        return h.hexdigest()[:32]

    def effective_matrix(self, tile: Tile) -> np.ndarray:
        """The tile's exact transfer matrix [rows, cols]: column currents = row voltages @ it."""
        return self._kept("matrices", tile, tile.states.shape[:2], lambda: self.solver(tile).effective_matrix().T.copy())

    def input_admittance(self, tile: Tile) -> np.ndarray:
        """The tile's row-port admittance Y [rows, rows] in siemens: a read at row voltages v draws ``v Y v``
        watts (:meth:`NativeSolver.input_admittance`); kept in memory and in the cache.

        Exact for a linear tile (:attr:`linear`); a non-linear tile's is its zero-bias linearization
        (junctions at R_0, transistors at their on-resistance), whose read power is within 0.13-0.4 %
        (access transistors) and 0.3-2.3 % (V_h 0.5 V) of the exact one at 0.1-0.3 V reads
        (tests/test_design.py)."""
        rows = tile.states.shape[0]

        def compute():
            solver = self.solver(tile)
            return (solver if isinstance(solver, NativeSolver) else solver.linear).input_admittance()
        return self._kept("admittance", tile, (rows, rows), compute)

    def _kept(self, kind: str, tile: Tile, shape: tuple[int, int], compute) -> np.ndarray:
        """A matrix of ``tile`` kept in memory and, with a cache folder, on disk under ``kind``: read back when
        it is sound (:func:`_cached_matrix`), else computed by ``compute()`` and written atomically."""
        key = (kind, tile.layer, tile.index)
        if key not in self._matrices:
            path = self.cache_dir / kind / f"{self._key(tile)}.npy" if self.cache_dir else None
            m = _cached_matrix(path, shape) if path is not None else None
            if m is None:
                m = compute()
                if path is not None:
                    with atomic_open(path) as f:
                        np.save(f, m)
            self._matrices[key] = m
        return self._matrices[key]

    def ideal_matrix(self, tile: Tile) -> np.ndarray:
        """The tile's conductances G [rows, cols] in siemens, as its circuit holds them: ideal currents are V @ G."""
        key = (tile.layer, tile.index)
        if key not in self._ideal:
            # From the cell resistances the circuit is built from: no circuit needed when M is cached.
            self._ideal[key] = summed_conductance(self.crossbar(tile).cell_resistance_ohm)
        return self._ideal[key]

    def row_voltages(self, a: np.ndarray, l: int = 0) -> np.ndarray:
        """Row voltages [batch, in + 1] of layer ``l`` for its inputs ``a`` [batch, in]: ``v_read * a / s_l``;
        the bias row is driven at v_read."""
        s = self.input_scales[l]
        return self.spec.v_read * np.hstack([a if s == 1 else a / s, np.ones((len(a), 1))])

    def adc_full_scale(self, tile: Tile) -> float:
        """The ADC's full-scale column current of ``tile`` in ampere (see :class:`CircuitSpec`)."""
        return self.spec.adc_full_scale_a or self.spec.v_read * float(self.ideal_matrix(tile).sum(axis=0).max())


def _cached_matrix(path: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """The effective matrix cached at ``path`` if it is readable, finite, float64 and ``shape``; else None.

    A corrupt, truncated or foreign entry is not trusted: the caller rebuilds it and overwrites it.
    """
    if not (path.exists() or path.is_symlink()):
        return None
    try:
        with open_file(path, "cache entry") as f, parsing(path, "cache entry"):
            m = np.load(f, allow_pickle=False)
    except ParameterError:  # unreadable, foreign, or not a regular file of bounded size
        return None
    if not isinstance(m, np.ndarray) or m.dtype != np.float64 or m.shape != tuple(shape) or not np.isfinite(m).all():
        return None
    return m
