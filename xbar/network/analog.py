"""Whole networks on circuits: analog inference through parasitic-aware crossbars vs ideal quantized.

An :class:`AnalogNetwork` evaluates a network placed (:mod:`xbar.network.placed`) on the circuits a
:class:`~xbar.network.circuit_spec.CircuitSpec` describes (each layer mapped onto device
states, split into tiles, each tile's :class:`~xbar.array.crossbar.Crossbar` and circuit
built with the core's one circuit description). Inputs a in [0, 1] drive rows at ``a * v_read``; the bias row is
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
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from xbar.analysis.energy import READ_PULSE_S
from xbar.array.circuit import Circuit, as_circuit
from xbar.array.crossbar import Crossbar
from xbar.network.mapping import Tile, tile_outputs
from xbar.network.placed import PlacedNetwork
from xbar.solvers import make_solver
from xbar.solvers.newton import NewtonSolver, read_state
from xbar.util.atomic import atomic_open
from xbar.util.errors import ParameterError
from xbar.util.files import parsing, read_npz
from xbar.util.tasks import check_task_timeout, gather
from xbar.util.validate import real_array


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


class AnalogNetwork(PlacedNetwork):
    """A placed network evaluated: inputs drive rows, tiles give column currents (native, ngspice or ideal),
    then the ADC, read noise and the digital calibration; whole inputs run through both analog and ideal chains.
    """

    def __init__(self, network, spec, cache_dir=None, input_scales=None):
        super().__init__(network, spec, cache_dir, input_scales)
        #: The intended placement whose ideal chain is the like-for-like reference, when this network's states
        #: were changed by a mitigation (:func:`xbar.network.mitigation.mitigate`); None: this network's own.
        self.reference: AnalogNetwork | None = None
        #: Read pulse in seconds for :attr:`energy_j` (default: the paper's 30 ns).
        self.read_pulse_s = READ_PULSE_S
        #: DC read energy of the arrays, joule, summed over every analog (non-ideal) tile read since it was set
        #: to 0.0 (None: not tracked); exact for linear tiles, the zero-bias linearization for non-linear ones
        #: (:meth:`~xbar.network.placed.PlacedNetwork.input_admittance`).
        self.energy_j: float | None = None
        #: Per layer (gain [out], offset [out]) from :meth:`calibrate`; empty: uncalibrated.
        self.calibration: list[tuple[np.ndarray, np.ndarray]] = []
        #: How SPICE backends write the devices: ``full`` (subcircuits) or ``condensed`` (exact DC equivalents,
        #: :mod:`xbar.array.condensed`).
        self.spice_devices = "full"
        self._noise: dict[tuple, np.ndarray] = {}
        self._noise_rngs: dict[tuple, np.random.Generator] = {}
        #: The ``solver`` metadata of every SPICE tile solve, with its layer, tile and batch size.
        self.spice_runs: list[dict] = []
        #: The same for every native tile solve of non-linear junctions (chord steps, vectors given to Newton).
        self.nonlinear_runs: list[dict] = []
        #: Where tile solves run (:meth:`use_workers`); None: here, one after another.
        self.workers: dict | None = None

    def use_workers(self, workers: int | None = None, scheduler=None, timeout_s: float | None = None) -> None:
        """Run the independent tile solves of each layer (SPICE, and native non-linear junctions) as tasks.

        ``workers`` local processes, or ``scheduler``: an existing Dask cluster's address
        (or a ``distributed.Client``); ``timeout_s`` bounds each task (:mod:`xbar.util.tasks`).
        The answers equal those of one process exactly: a task is the solve the
        one-process run does. ``workers=None`` and no scheduler: back to one process.
        """
        timeout_s = check_task_timeout(timeout_s)
        if scheduler is None and workers is None:
            self.workers = None
            return
        if scheduler is None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ParameterError(f"workers must be an integer >= 1, got {workers!r}")
        self.workers = dict(workers=workers or 1, scheduler=scheduler, timeout_s=timeout_s)

    def _adc(self, currents: np.ndarray, tile: Tile) -> np.ndarray:
        bits = self.spec.adc_bits
        if bits is None:
            return currents
        full = self.adc_full_scale(tile)
        if full <= 0:  # every device of the tile switched off (a mitigation): no column can carry current
            return np.zeros_like(currents)
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
        if backend == "native" and self.linear:
            return self._adc(self._noisy(vt @ self.effective_matrix(tile), tile), tile)
        if backend not in ("native", "ngspice", "pyspice"):
            raise ParameterError(f"unknown inference backend {backend!r}; choose native, ngspice, pyspice or ideal")
        if backend == "native":
            sol = self.solver(tile).solve_batch(vt)  # non-linear junctions: no effective matrix
            solved = sol.currents, sol.solver
        else:
            solved = solve_tile(self.circuit(tile), vt, backend, devices=self.spice_devices)
        return self._solved(tile, vt, backend, *solved)

    def _solved(self, tile: Tile, vt: np.ndarray, backend: str, currents: np.ndarray, info: dict) -> np.ndarray:
        """A tile solve's currents through read noise and the ADC, its metadata recorded."""
        runs = self.nonlinear_runs if backend == "native" else self.spice_runs
        runs.append(dict(info, layer=tile.layer, tile=list(tile.index), vectors=len(vt)))
        return self._adc(self._noisy(currents, tile), tile)

    def _tasks(self, backend: str) -> bool:
        """Whether this backend's tile solves go to :attr:`workers` (they need a circuit solve per batch)."""
        return self.workers is not None and (backend in ("ngspice", "pyspice")
                                             or (backend == "native" and not self.device.mtj.linear))

    def _layer_currents(self, l: int, v: np.ndarray, backend: str) -> list[np.ndarray]:
        """Column currents of every tile of layer ``l`` for its row voltages ``v``, each tile a task."""
        tiles = self.tiles[l]
        parts = [np.ascontiguousarray(v[:, t.rows[0]:t.rows[1]]) for t in tiles]
        if not self._tasks(backend):
            # Tiles solved vector by vector (SPICE, non-linear junctions) can take minutes: show them after 5 s.
            slow = backend in ("ngspice", "pyspice") or (backend == "native" and not self.device.mtj.linear)
            shown = tqdm(tiles, desc=f"layer {l} tiles ({backend}, {len(v)} vectors)", unit="tile", delay=5,
                         leave=False, disable=not slow)
            return [self.tile_currents(t, p, backend) for t, p in zip(shown, parts)]
        options = dict(self.workers)
        timeout_s = options["timeout_s"]
        args = [(self.crossbar(t), p, backend, timeout_s, self.spice_devices)  # 10x smaller than circuits
                for t, p in zip(tiles, parts)]
        names = [f"xbar-tile-{self._key(t)}-{hashlib.sha256(p.tobytes()).hexdigest()[:16]}-{backend}"
                 f"{'-condensed' if self.spice_devices == 'condensed' and backend == 'ngspice' else ''}"
                 for t, p in zip(tiles, parts)]
        solved = gather(solve_tile, args, what=lambda i: f"layer {l} tile {tiles[i].index}", names=names, **options)
        return [self._solved(t, p, backend, *s) for t, p, s in zip(tiles, parts, solved)]

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
        if backend == "ideal" and self.reference is not None:
            return self.reference.pre_activation(l, a, "ideal")
        v = self.row_voltages(a, l)
        z = np.zeros((len(a), self.layers[l].shape[1]))
        track = self.energy_j is not None and backend != "ideal"
        for tile, currents in zip(self.tiles[l], self._layer_currents(l, v, backend)):
            if track:
                vt = v[:, tile.rows[0]:tile.rows[1]]
                self.energy_j += self.read_pulse_s * float(np.einsum("bi,ij,bj->", vt, self.input_admittance(tile), vt))
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
        fraction per device [rows, cols] for heat maps. Tiles not in the cache are solved
        here, or as tasks on :attr:`workers` when set.
        """
        v = self.row_voltages(a, l)
        tiles = self.tiles[l]
        parts = [np.ascontiguousarray(v[:, t.rows[0]:t.rows[1]]) for t in tiles]
        paths = [self._ir_path(t, p) for t, p in zip(tiles, parts)]
        stats = [_ir_cached(path, self.crossbar(t).shape) for t, path in zip(tiles, paths)]
        todo = [i for i, st in enumerate(stats) if st is None]
        if todo and self.workers is not None:
            solved = gather(tile_ir_drop, [(self.crossbar(tiles[i]), parts[i]) for i in todo],
                            what=lambda k: f"IR drop of layer {l} tile {tiles[todo[k]].index}",
                            names=[f"xbar-irdrop-{paths[i].stem if paths[i] else i}-{l}" for i in todo],
                            **self.workers)
        else:
            solved = [tile_ir_drop(self.circuit(tiles[i]), parts[i], self.solver(tiles[i])) for i in todo]
        for i, st in zip(todo, solved):
            stats[i] = st
            if paths[i] is not None:
                with atomic_open(paths[i]) as f:
                    np.savez(f, worst_v=st[0], mean_v=st[1], map_v=st[2], worst_device_a=st[3])
        return [dict(layer=l, tile=t.index, **self._ir_record(*st)) for t, st in zip(tiles, stats)]

    def _ir_path(self, tile: Tile, vt: np.ndarray):
        """Where the IR-drop numbers of ``tile`` for row voltages ``vt`` are cached (None: no cache)."""
        if not self.cache_dir:
            return None
        digest = hashlib.sha256(np.ascontiguousarray(vt).tobytes() + repr(vt.shape).encode()).hexdigest()[:16]
        return self.cache_dir / "irdrop" / f"{self._key(tile)}-{digest}.npz"

    def _ir_record(self, worst_v: float, mean_v: float, map_v: np.ndarray, worst_device_a: float) -> dict:
        v_read = self.spec.v_read
        return dict(worst_v=worst_v, mean_v=mean_v, worst_rel=worst_v / v_read, mean_rel=mean_v / v_read,
                    map_rel=map_v / v_read, worst_device_a=worst_device_a)


def _ir_cached(path, shape: tuple) -> tuple | None:
    """(worst V, mean V, map [rows, cols] V, worst device A) cached at ``path``, if readable and sane; else None."""
    if path is None or not (path.exists() or path.is_symlink()):
        return None
    try:
        with parsing(path, "cache entry"):
            f = read_npz(path, "cache entry")
            worst, mean, heat, worst_i = float(f["worst_v"]), float(f["mean_v"]), f["map_v"], float(f["worst_device_a"])
    except ParameterError:
        return None  # unreadable, foreign or not a regular file: recompute and overwrite
    if heat.shape != shape or not (np.isfinite(heat).all() and np.isfinite([worst, mean, worst_i]).all()):
        return None
    return worst, mean, heat, worst_i


def tile_ir_drop(circuit: Circuit | Crossbar, vt: np.ndarray, solver=None) -> tuple:
    """Voltage lost before each cell of one tile for row voltages ``vt`` [batch, rows]: (worst V, mean V,
    mean per device [rows, cols] V, worst device current A), by a node-voltage solve (``solver``: the tile's own;
    non-linear junctions: the chord iteration, :meth:`NewtonSolver.read_voltages`)."""
    circuit = as_circuit(circuit)
    if solver is None:  # the solver this process would keep for the tile (access transistors: the stacks')
        solver = make_solver(circuit)
    nodes = solver.read_voltages(vt) if isinstance(solver, NewtonSolver) else solver.node_voltages(vt)
    cells, currents = read_state(circuit, nodes)
    loss = np.abs(vt[:, :, None, None] - cells)  # [batch, rows, cols, cells]
    worst_i = float(np.abs(currents).max(initial=0.0))
    return float(loss.max()), float(loss.mean()), loss.mean(axis=(0, 3)), worst_i


def solve_tile(circuit: Circuit | Crossbar, vt: np.ndarray, backend: str,
               timeout_s: float | None = None, devices: str = "full") -> tuple[np.ndarray, dict]:
    """Column currents [batch, cols] of one tile's circuit (or array) for row voltages ``vt``, and the solver's metadata.

    The per-tile work of an analog pass, in this process or a worker's (:mod:`xbar.util.tasks`):
    ``native`` (non-linear junctions: the chord iteration), ``ngspice`` or ``pyspice``
    (``timeout_s`` bounds each SPICE run; default: the solver's own; ``devices``: ngspice's
    ``full`` or ``condensed`` devices).
    """
    if backend == "native":  # the solver one process keeps for the tile (access transistors: the stacks')
        sol = make_solver(as_circuit(circuit)).solve_batch(vt)
    else:
        options = {} if timeout_s is None else dict(timeout_s=timeout_s)
        if backend == "ngspice":
            options["devices"] = devices
        sol = make_solver(circuit, backend, **options).solve(vt)
    return sol.currents, sol.solver


def _check_activations(x, features: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != features:
        raise ParameterError(f"inputs must have shape [batch, {features}], got {list(x.shape)}")
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ParameterError("inputs must be finite activations in [0, 1] (pixel intensities)")
    return x
