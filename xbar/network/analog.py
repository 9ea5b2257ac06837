"""Whole networks on circuits: analog inference through parasitic-aware crossbars vs ideal quantized.

An :class:`AnalogNetwork` puts a trained network on the circuits a
:class:`~xbar.network.circuit_spec.CircuitSpec` describes: it maps each layer onto device
states (:mod:`xbar.network.mapping`), splits it into tiles, and builds each tile's
:class:`~xbar.array.crossbar.Crossbar` and circuit with the core's one circuit
description. Inputs a in [0, 1] drive rows at ``a * v_read``; the bias row is
driven at ``v_read``. Each tile's column currents come from its exact effective
matrix (native solver; the chord iteration for non-linear junctions) or from
ngspice; partial sums over row tiles are added
digitally, an optional ADC digitizes each column current, and the sigmoid runs
digitally between layers.

"Ideal quantized" inference uses exactly the conductances the arrays hold (the
sum of each device's cell conductances, variation included) with no wire,
channel, driver or sense parasitics and no ADC: the like-for-like reference.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from xbar import __version__
from xbar.util.atomic import atomic_open
from xbar.array.circuit import Circuit, build_circuit
from xbar.network.circuit_spec import CircuitSpec
from xbar.array.crossbar import Crossbar
from xbar.util.errors import ParameterError
from xbar.util.files import open_file, parsing, read_npz
from xbar.util.validate import real_array
from xbar.network.mapping import MappedLayer, Tile, current_gain, map_layer, tile_layer, tile_outputs
from xbar.network.models import Model, from_network
from xbar.network.mlp import Network
from xbar.solvers import NativeSolver, make_solver
from xbar.solvers.ideal import summed_conductance
from xbar.solvers.newton import NewtonSolver, cell_voltages, device_currents

#: Part of every cached effective matrix's key: bump it when the circuit model or solver
#: changes what a tile's matrix is, so stale files on disk are never reused.
MATRIX_CACHE_FORMAT = 2


@dataclass(frozen=True)
class LayerResult:
    """One layer of an analog pass: ``z_analog`` and ``z_ideal`` [batch, out] from the same inputs."""

    z_analog: np.ndarray
    z_ideal: np.ndarray
    #: The first rows of the layer's inputs (for IR-drop analysis), [rows, in]; see :meth:`AnalogNetwork.run`.
    inputs: np.ndarray | None = None

    def __post_init__(self):
        object.__setattr__(self, "z_analog", real_array("z_analog", self.z_analog, 2))
        object.__setattr__(self, "z_ideal", real_array("z_ideal", self.z_ideal, 2))
        if self.inputs is not None:
            object.__setattr__(self, "inputs", real_array("inputs", self.inputs, 2))


class AnalogNetwork:
    """A trained network mapped onto compound-MTJ tiles, solvable with the native solver or ngspice.

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
        #: Per layer (gain [out], offset [out]) from :meth:`calibrate`; empty: uncalibrated.
        self.calibration: list[tuple[np.ndarray, np.ndarray]] = []
        self._circuits: dict[tuple, Circuit] = {}
        self._crossbars: dict[tuple, Crossbar] = {}
        self._solvers: dict[tuple, NativeSolver | NewtonSolver] = {}
        self._ideal: dict[tuple, np.ndarray] = {}
        self._noise: dict[tuple, np.ndarray] = {}
        self._noise_rngs: dict[tuple, np.random.Generator] = {}
        #: The ``solver`` metadata of every SPICE tile solve, with its layer, tile and batch size.
        self.spice_runs: list[dict] = []
        #: The same for every native tile solve of non-linear junctions (chord steps, vectors given to Newton).
        self.nonlinear_runs: list[dict] = []

    def crossbar(self, tile: Tile) -> Crossbar:
        """The physical array of ``tile``, with its own variation seed (made once)."""
        key = (tile.layer, tile.index)
        if key not in self._crossbars:
            self._crossbars[key] = self._make_crossbar(tile)
        return self._crossbars[key]

    def _make_crossbar(self, tile: Tile) -> Crossbar:
        s = self.spec
        seed = int(np.random.SeedSequence([s.variation_seed, tile.layer, *tile.index]).generate_state(1)[0])
        return Crossbar(self.device, tile.states, row_wire_ohm=s.wire_ohm, col_wire_ohm=s.wire_ohm,
                        driver_ohm=s.driver_ohm, access_ohm=s.access_ohm, sense=s.sense, ref_ohm=s.ref_ohm,
                        variation=s.variation(seed), faults=s.faults(seed))

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
            self._solvers[key] = NewtonSolver(c) if c.nonlinear else NativeSolver(c)
        return self._solvers[key]

    def _key(self, tile: Tile) -> str:
        xb = self.crossbar(tile)
        h = hashlib.sha256()
        fields = {k: v for k, v in asdict(self.spec).items()
                  if k not in ("adc_bits", "adc_full_scale_a", "rule", "scheme", "tile_rows", "tile_cols",
                               "calibration_images", "read_noise_t_s", "noise_seed", "v_read")}
        h.update(repr((__version__, MATRIX_CACHE_FORMAT, fields, xb.device, xb.cell_resistance_ohm.shape)).encode())
        h.update(np.ascontiguousarray(xb.cell_resistance_ohm).tobytes())
        return h.hexdigest()[:32]

    def effective_matrix(self, tile: Tile) -> np.ndarray:
        """The tile's exact transfer matrix [rows, cols]: column currents = row voltages @ it."""
        key = (tile.layer, tile.index)
        if key not in self._matrices:
            path = self.cache_dir / "matrices" / f"{self._key(tile)}.npy" if self.cache_dir else None
            m = _cached_matrix(path, tile.states.shape[:2]) if path is not None else None
            if m is None:
                m = self.solver(tile).effective_matrix().T.copy()
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

    def _adc(self, currents: np.ndarray, tile: Tile) -> np.ndarray:
        bits = self.spec.adc_bits
        if bits is None:
            return currents
        full = self.adc_full_scale(tile)
        steps = 2 ** bits - 1
        return np.clip(np.round(currents / full * steps), 0, steps) * full / steps

    def tile_currents(self, tile: Tile, vt: np.ndarray, backend: str = "native") -> np.ndarray:
        """Column currents [batch, cols] in ampere of ``tile`` for its row voltages ``vt`` [batch, rows].

        ``backend``: ``native`` (exact effective matrix, then the ADC), ``ngspice``
        or ``pyspice`` (then the ADC; each solve's metadata goes to :attr:`spice_runs`)
        or ``ideal`` (V @ G, no ADC).
        """
        if backend == "ideal":
            return vt @ self.ideal_matrix(tile)
        if backend == "native" and not self.device.mtj.linear:
            sol = self.solver(tile).solve_batch(vt)  # no effective matrix
            self.nonlinear_runs.append(dict(sol.solver, layer=tile.layer, tile=list(tile.index), vectors=len(vt)))
            return self._adc(self._noisy(sol.currents, tile), tile)
        if backend == "native":
            return self._adc(self._noisy(vt @ self.effective_matrix(tile), tile), tile)
        if backend in ("ngspice", "pyspice"):
            sol = make_solver(self.circuit(tile), backend).solve(vt)
            self.spice_runs.append(dict(sol.solver, layer=tile.layer, tile=list(tile.index), vectors=len(vt)))
            return self._adc(self._noisy(sol.currents, tile), tile)
        raise ParameterError(f"unknown inference backend {backend!r}; choose native, ngspice, pyspice or ideal")

    def noise_rms(self, tile: Tile) -> np.ndarray:
        """Output-referred rms current noise [cols] of ``tile`` over a read of ``spec.read_noise_t_s``."""
        from xbar.analysis.readout import array_noise
        key = (tile.layer, tile.index)
        if key not in self._noise:
            circuit = self.circuit(tile)
            mid = np.full((1, circuit.shape[0]), self.spec.v_read / 2)
            self._noise[key] = np.asarray(array_noise(circuit, mid, self.spec.read_noise_t_s,
                                                      self.solver(tile))["rms_a"])[0]
        return self._noise[key]

    def _noisy(self, currents: np.ndarray, tile: Tile) -> np.ndarray:
        """``currents`` plus seeded read noise when ``spec.read_noise_t_s`` is set (one generator per tile)."""
        if self.spec.read_noise_t_s is None:
            return currents
        key = (tile.layer, tile.index)
        if key not in self._noise_rngs:
            self._noise_rngs[key] = np.random.default_rng([self.spec.noise_seed, tile.layer, *tile.index])
        return currents + self._noise_rngs[key].standard_normal(currents.shape) * self.noise_rms(tile)

    def pre_activation(self, l: int, a: np.ndarray, backend: str = "native") -> np.ndarray:
        """Pre-activations [batch, out] of layer ``l`` for activations ``a`` [batch, in]: partial sums over tiles.

        Analog backends apply the layer's digital calibration, if :meth:`calibrate` set one.
        """
        v = self.row_voltages(a, l)
        z = np.zeros((len(a), self.layers[l].shape[1]))
        for tile in self.tiles[l]:
            currents = self.tile_currents(tile, v[:, tile.rows[0]:tile.rows[1]], backend)
            z[:, tile.outputs[0]:tile.outputs[1]] += self.gains[l] * tile_outputs(currents, tile, self.spec.scheme)
        if backend != "ideal" and l < len(self.calibration):
            gain, offset = self.calibration[l]
            z = z * gain + offset
        return z

    def calibrate(self, x: np.ndarray, backend: str = "native") -> None:
        """Fit a digital gain and offset per output of each layer on calibration inputs ``x`` [batch, features].

        Layer by layer, the analog pre-activation of each output is mapped by least
        squares onto the ideal one for the same inputs (the calibrated analog chain
        feeds the next layer). A per-column gain and offset is cheap in the digital
        periphery and removes the smooth attenuation that IR drop causes; what is
        left is the circuit's true distortion.
        """
        x = _check_activations(x, self.model.n_features)
        self.calibration = []

        def fit(l: int, a: np.ndarray) -> np.ndarray:
            z_a, z_i = self.pre_activation(l, a, backend), self.pre_activation(l, a, "ideal")
            da, di = z_a - z_a.mean(0), z_i - z_i.mean(0)
            var = (da ** 2).sum(0)
            gain = np.where(var > 0, (da * di).sum(0) / np.where(var > 0, var, 1.0), 1.0)
            offset = z_i.mean(0) - gain * z_a.mean(0)
            self.calibration.append((gain, offset))
            return z_a * gain + offset

        self.model.forward(x, fit)

    def run(self, x: np.ndarray, backend: str = "native",
            keep_inputs: int = 0) -> tuple[np.ndarray, np.ndarray, list[LayerResult]]:
        """Analog and ideal-quantized outputs [batch, classes] for inputs ``x`` [batch, features] in [0, 1].

        Each chain feeds its own activations forward; the per-layer results
        compare the analog layer with the ideal one on the analog chain's inputs
        and keep the first ``keep_inputs`` rows of those inputs.
        """
        x = _check_activations(x, self.model.n_features)
        results = []

        def analog(l: int, a: np.ndarray) -> np.ndarray:
            res = LayerResult(self.pre_activation(l, a, backend), self.pre_activation(l, a, "ideal"),
                              a[:keep_inputs].copy())
            results.append(res)
            return res.z_analog

        out = self.model.forward(x, analog)
        out_ideal = self.model.forward(x, lambda l, a: self.pre_activation(l, a, "ideal"))
        return out.reshape(len(x), -1), out_ideal.reshape(len(x), -1), results

    def ir_drop(self, l: int, a: np.ndarray) -> list[dict]:
        """Voltage lost before each MTJ cell, per tile of layer ``l``, for activations ``a`` [batch, in].

        A cell on row i ideally sees that row's source voltage V_i; the loss is
        |V_i - V_cell| (wires, driver, channel, and the rise of the column). Returns
        per tile the worst and mean loss in volt and as a fraction of ``v_read``
        (the full-scale row voltage), over all cells and inputs, and the mean
        fraction per device [rows, cols] for heat maps.
        """
        v = self.row_voltages(a, l)
        return [dict(layer=l, tile=tile.index, **self._ir_stats(tile, v[:, tile.rows[0]:tile.rows[1]]))
                for tile in self.tiles[l]]

    def _ir_stats(self, tile: Tile, vt: np.ndarray) -> dict:
        """IR-drop numbers of one tile for row voltages ``vt``, kept in the cache (they need a factorization)."""
        path = None
        if self.cache_dir:
            digest = hashlib.sha256(np.ascontiguousarray(vt).tobytes() + repr(vt.shape).encode()).hexdigest()[:16]
            path = self.cache_dir / "irdrop" / f"{self._key(tile)}-{digest}.npz"
        if path is not None and (path.exists() or path.is_symlink()):
            try:
                with parsing(path, "cache entry"):
                    f = read_npz(path, "cache entry")
                    worst, mean, heat = float(f["worst_v"]), float(f["mean_v"]), f["map_v"]
                    worst_i = float(f["worst_device_a"])
                if heat.shape == self.crossbar(tile).shape and np.isfinite(heat).all() and np.isfinite([worst, mean, worst_i]).all():
                    return self._ir_record(worst, mean, heat, worst_i)
            except ParameterError:
                pass  # unreadable, foreign or not a regular file: recompute and overwrite
        circuit = self.circuit(tile)
        nodes = self.solver(tile).node_voltages(vt)
        cells = cell_voltages(circuit, nodes)  # [batch, rows, cols, cells]
        loss = np.abs(vt[:, :, None, None] - cells)
        worst, mean, heat = float(loss.max()), float(loss.mean()), loss.mean(axis=(0, 3))
        worst_i = float(np.abs(device_currents(circuit, nodes)).max(initial=0.0))
        if path is not None:
            with atomic_open(path) as f:
                np.savez(f, worst_v=worst, mean_v=mean, map_v=heat, worst_device_a=worst_i)
        return self._ir_record(worst, mean, heat, worst_i)

    def _ir_record(self, worst_v: float, mean_v: float, map_v: np.ndarray, worst_device_a: float) -> dict:
        v_read = self.spec.v_read
        return dict(worst_v=worst_v, mean_v=mean_v, worst_rel=worst_v / v_read, mean_rel=mean_v / v_read,
                    map_rel=map_v / v_read, worst_device_a=worst_device_a)


def _cached_matrix(path: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """The effective matrix cached at ``path`` if it is readable, finite, float64 and ``shape``; else None.

    A corrupt, truncated or foreign entry is not trusted: the caller rebuilds it and overwrites it.
    """
    if not (path.exists() or path.is_symlink()):
        return None
    try:
        with open_file(path, "cache entry") as f, parsing(path, "cache entry"):
            m = np.load(f, allow_pickle=False)
    except ParameterError:
        return None
    if not isinstance(m, np.ndarray) or m.dtype != np.float64 or m.shape != tuple(shape) or not np.isfinite(m).all():
        return None
    return m


def _check_activations(x, features: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != features:
        raise ParameterError(f"inputs must have shape [batch, {features}], got {list(x.shape)}")
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ParameterError("inputs must be finite activations in [0, 1] (pixel intensities)")
    return x
