"""Mitigations that win accuracy back: device states chosen against the arrays as they really are.

The plain mapping (:mod:`xbar.network.mapping`) picks each device's state from the nominal
levels. The circuit then moves every weight: IR drop attenuates it, variation and faults
change its device, non-linear junctions read a state at the operating bias as a different
conductance. A state is still the only thing a designer writes, so every mitigation here
is a better choice of states, made once, offline, with what the chip and its model know:

* **exact IR-drop compensation** (``compensate`` iterations): each device's effective gain
  g = M_ij / G_ij from the tile's *exact* effective matrix M (:meth:`NativeSolver.effective_matrix`),
  then each weight's states are chosen so that the effective conductances best realize the
  unquantized target weight; M is recomputed for the new states and the choice repeated.
* **device-aware states** (``device_aware``): the levels each device really has, read by the
  program-and-verify loop (stuck cells, broken cells and variation included), instead of the
  nominal levels. Cost: characterizing every device at each of its n + 1 states.
* **disconnecting shorted devices** (``disconnect_shorts``): a device with a broken-down
  junction is taken out of its array (its read transistor held off, or a fuse); the other
  device of its differential pair then realizes the weight alone.
* **levels at the operating point** (``operating_point``): for non-linear junctions, each
  device's levels at the bias its row typically reads at (mean calibration activation x
  V_read) through the one junction I-V, :func:`xbar.device.junction.junction_current`.

The choice is exact for a differential pair: all (n + 1)^2 state pairs are scored at once.
The ideal-quantized reference of a mitigated network is the *intended* one: the plain mapping on
nominal devices, no variation and no faults (:attr:`AnalogNetwork.reference`, :func:`intended_spec`),
so "analog vs ideal" measures the loss against what the designer asked for, and calibration fits to it. A digital
gain and offset per output (``calibration_images``) combines with any of them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.faults import FAULT_KINDS
from xbar.device.junction import junction_current
from xbar.network.analog import AnalogNetwork
from xbar.network.mapping import Tile, conductance_step
from xbar.solvers.ideal import summed_conductance
from xbar.solvers.native import NativeSolver
from xbar.util.errors import ParameterError
from xbar.util.validate import integer

#: Index of the short in :data:`FAULT_KINDS`, plus one (the encoding of :meth:`Faults.kinds`).
SHORT = FAULT_KINDS.index("short") + 1


@dataclass(frozen=True)
class Mitigation:
    """Which mitigations to apply (all off by default). ``compensate``: IR-drop iterations, 0..10."""

    compensate: int = 0
    device_aware: bool = False
    disconnect_shorts: bool = False
    operating_point: bool = False

    def __post_init__(self):
        object.__setattr__(self, "compensate", integer("compensate iterations", self.compensate, low=0, high=10))
        for name in ("device_aware", "disconnect_shorts", "operating_point"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ParameterError(f"mitigation {name} must be true or false, got {getattr(self, name)!r}")
            object.__setattr__(self, name, bool(getattr(self, name)))

    @property
    def is_off(self) -> bool:
        """True when no mitigation is on."""
        return not (self.compensate or self.device_aware or self.disconnect_shorts or self.operating_point)

    @property
    def name(self) -> str:
        """The canonical comma list that :meth:`parse` reads back ("none" when all are off)."""
        words = [f"compensate={self.compensate}"] if self.compensate else []
        words += [w for w, on in (("aware", self.device_aware), ("disconnect", self.disconnect_shorts),
                                  ("operating-point", self.operating_point)) if on]
        return ",".join(words) or "none"

    @classmethod
    def parse(cls, text: str) -> "Mitigation":
        """From a comma list: ``compensate`` (3 iterations) or ``compensate=K``, ``aware``, ``disconnect``,
        ``operating-point``, ``all``, ``none``."""
        if not isinstance(text, str) or not text.strip():
            raise ParameterError(f"mitigation must name compensate[=K], aware, disconnect, operating-point, all or "
                                 f"none, got {text!r}")
        fields = {}
        for word in filter(None, (w.strip().lower() for w in text.split(","))):
            name, _, value = word.partition("=")
            if name == "none":
                continue
            if name == "all":
                fields.update(compensate=3, device_aware=True, disconnect_shorts=True, operating_point=True)
            elif name == "compensate":
                fields["compensate"] = int(value) if value.isdigit() else 3 if not value else value
            elif name in ("aware", "device-aware") and not value:
                fields["device_aware"] = True
            elif name in ("disconnect", "disconnect-shorts") and not value:
                fields["disconnect_shorts"] = True
            elif name in ("operating-point", "op") and not value:
                fields["operating_point"] = True
            else:
                raise ParameterError(f"unknown mitigation {word!r}; choose compensate[=K], aware, disconnect, "
                                     "operating-point, all or none")
        return cls(**fields)


def mitigate(net: AnalogNetwork, m: Mitigation, x_cal: np.ndarray | None = None) -> tuple[AnalogNetwork, dict]:
    """A copy of ``net`` with its states chosen by mitigation ``m``, and what that cost.

    ``x_cal`` [batch, features]: calibration inputs, needed for ``operating_point`` (their activations
    set each row's read bias). The copy's ideal chain is the intended network's (:func:`intended_spec`).
    """
    if m.operating_point and x_cal is None:
        raise ParameterError("the operating-point mitigation needs calibration inputs (their mean sets the read bias)")
    start = time.perf_counter()
    out = AnalogNetwork(net.network, net.spec, net.cache_dir, net.input_scales)
    out.reference = AnalogNetwork(net.network, intended_spec(net.spec), net.cache_dir, net.input_scales)
    v_op = _row_bias(net, x_cal) if m.operating_point and not net.device.mtj.linear else None
    targets = [np.vstack([s * w, b[None, :]]) / layer.scale
               for (w, b), s, layer in zip(net.model.matrix_layers(), net.input_scales, net.layers)]
    moved = disconnected = factorizations = spares = 0
    out.calibration = []
    for l, tiles in enumerate(out.tiles):
        for tile in tiles:
            if m.disconnect_shorts:
                off = _shorted(out, tile)
                out.disconnected[(tile.layer, tile.index)] = off
                disconnected += int(off.sum())
        bias = None if v_op is None else v_op[l]
        states, alpha, solves, beyond = _layer_states(out, tiles, targets[l], m, bias)
        factorizations += solves
        spares += beyond
        for t, tile in enumerate(tiles):
            chosen, switched = _split_off(states[t], net.device.n_cells)
            if switched.any():
                key = (tile.layer, tile.index)
                out.disconnected[key] = out.disconnected.get(key, np.zeros(switched.shape, bool)) | switched
            moved += int((chosen != tile.states).sum() + switched.sum())
            tiles[t] = replace(tile, states=chosen)
        out.calibration.append((1.0 / alpha, np.zeros_like(alpha)))
    devices = sum(t.states.size for tiles in out.tiles for t in tiles)
    n = net.device.n_cells
    shorted, disconnected = disconnected, sum(int(mask.sum()) for mask in out.disconnected.values())
    cost = dict(settings=asdict(m), devices=devices, states_changed=moved,
                seconds=round(time.perf_counter() - start, 2), tile_factorizations=factorizations,
                devices_disconnected=disconnected, shorted_devices=shorted, spare_pairs_needed=spares,
                disable_bits=devices if m.disconnect_shorts else 0,
                characterization_writes=devices * n if m.device_aware else 0,
                characterization_reads=devices * (n + 1) if m.device_aware else 0,
                calibration_images=int(net.spec.calibration_images))
    return out, cost


def intended_spec(spec):
    """What the designer asked for: ``spec`` on nominal devices (no variation, no faults, no mitigation)."""
    return replace(spec, sigma=0.0, device_ra_sigma=0.0, cell_ra_sigma=0.0, device_tmr_sigma=0.0,
                   cell_tmr_sigma=0.0, fault_rate=0.0, mitigation="none")


def level_table(net: AnalogNetwork, tile: Tile, device_aware: bool, bias_volt: np.ndarray | None = None,
                switchable: bool = False) -> np.ndarray:
    """Conductance [n + 1, rows, cols] in siemens of each device of ``tile`` in each state k (with
    ``switchable``, [n + 2, ...]: the last level is the device switched off by its disable bit, 0 S).

    Device-aware: the device's own cells (variation, stuck, open and broken cells, disconnection);
    else the nominal levels, zero where the device is disconnected. ``bias_volt`` [rows]: read each
    row's cells at that bias through the junction I-V (chord conductance i(V)/V) instead of at zero bias.
    """
    n = net.device.n_cells
    rows, cols = tile.states.shape
    off = net.disconnected.get((tile.layer, tile.index), np.zeros((rows, cols), bool))
    table = []
    for k in range(n + 1):
        states = np.full((rows, cols), k)
        xb = net._make_crossbar(replace(tile, states=states)) if device_aware else Crossbar(net.device, states)
        table.append(np.where(off, 0.0, _conductance(xb, bias_volt)))
    if switchable:
        table.append(np.zeros((rows, cols)))
    return np.array(table)


def verify_faults(net: AnalogNetwork, tile: Tile, tolerance: float = 0.25) -> dict[str, np.ndarray]:
    """What a program-and-verify pass finds: bool [rows, cols] masks of shorted, stuck and open devices.

    Each device is written to each of its states and read (its real cells: variation, faults); a device
    is faulty where a reading misses its nominal level by more than ``tolerance`` of one cell's step.
    Shorted: a reading far above the highest level (a broken-down barrier); stuck: two states read the
    same (a cell that does not switch); open: the rest (a missing cell lowers every state alike).
    """
    real = level_table(net, tile, device_aware=True)
    nominal = net.device.conductances()[:, None, None]
    step = conductance_step(net.device)
    faulty = (np.abs(real - nominal) > tolerance * step).any(axis=0)
    short = (real > nominal[-1] + 10 * step).any(axis=0)
    stuck = (np.abs(np.diff(real, axis=0)) < tolerance * step).any(axis=0) & faulty & ~short
    return dict(short=short, stuck=stuck, open=faulty & ~short & ~stuck)


def _conductance(xb: Crossbar, bias_volt: np.ndarray | None) -> np.ndarray:
    """Each device's summed cell conductance [rows, cols]: at zero bias, or each row's cells at ``bias_volt``."""
    if bias_volt is None or xb.device.mtj.linear:
        return summed_conductance(xb.cell_resistance_ohm)
    r0, rp = xb.cell_resistance_ohm, xb.cell_rp_ohm()
    v = np.maximum(np.asarray(bias_volt, dtype=float), 1e-9)[:, None, None]
    finite = np.isfinite(r0)
    i, _ = junction_current(v, np.where(finite, rp, 1.0), np.where(finite, r0, 1.0), xb.device.mtj.v_half_volt)
    return np.where(finite, i / v, 0.0).sum(axis=2)


def _layer_states(net: AnalogNetwork, tiles: list[Tile], target: np.ndarray, m: Mitigation,
                  bias_volt: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray, int, int]:
    """States [rows, cols] per tile of one layer that best realize ``target`` (normalized weights [in + 1, out]),
    the per-output gain they realize it at, the number of effective matrices computed and the outputs whose
    weights stay beyond the quantization error (at zero wire resistance; see :func:`_beyond_quantization`).

    IR drop attenuates every column on average as well as unevenly. Raising conductances against the
    average would only deepen the drop, so each output aims at its layer-wide mean gain alpha times its
    target (alpha from the exact matrices, the same over all row tiles, since their currents add) and a
    digital gain 1/alpha per output (known from the model: no calibration data) restores the scale.
    """
    unit = net.device.n_cells * conductance_step(net.device)
    scheme = net.spec.scheme
    tables = [level_table(net, tile, m.device_aware, None if bias_volt is None
                          else bias_volt[tile.rows[0]:tile.rows[1]], m.disconnect_shorts) for tile in tiles]
    parts = [target[t.rows[0]:t.rows[1], t.outputs[0]:t.outputs[1]] for t in tiles]
    states = [_best_states(tab, np.ones(t.states.shape), part, unit, scheme, t.states)
              for tab, t, part in zip(tables, tiles, parts)]
    beyond = _beyond_quantization(tables, states, parts, unit, scheme, net.device.n_cells)
    alpha = np.ones(target.shape[1])
    solves = 0
    for _ in range(m.compensate):
        gains = [_gain(net, t, s) for t, s in zip(tiles, states)]
        solves += len(tiles)
        alpha = _output_gain(tiles, tables, gains, states, scheme, target.shape[1])
        states = [_best_states(tab, g, part * alpha[t.outputs[0]:t.outputs[1]], unit, scheme, s)
                  for tab, t, g, part, s in zip(tables, tiles, gains, parts, states)]
    return states, alpha, solves, beyond


def _beyond_quantization(tables, states, parts, unit: float, scheme: str, n_cells: int) -> int:
    """How many outputs of the layer's tiles still hold a weight off its (clipped) target by more than half a
    level of the plain mapping: the column pairs a spare-column scheme would have to replace."""
    if scheme != "differential":
        return 0
    count = 0
    for tab, s, part in zip(tables, states, parts):
        held = np.take_along_axis(tab, s[None], axis=0)[0]
        d = (held[:, 0::2] - held[:, 1::2]) / unit
        count += int((np.abs(d - np.clip(part, -1, 1)) > 0.5 / n_cells + 1e-9).any(axis=0).sum())
    return count


def _gain(net: AnalogNetwork, tile: Tile, states: np.ndarray) -> np.ndarray:
    """Each device's effective gain [rows, cols]: its entry of the exact effective matrix over its conductance,
    for the array in ``states`` (linearized at zero bias for non-linear junctions)."""
    linear = net.device if net.device.mtj.linear else net.device.with_v_half(np.inf)
    chosen, switched = _split_off(states, net.device.n_cells)
    off = net.disconnected.get((tile.layer, tile.index), np.zeros(switched.shape, bool)) | switched
    xb = net._make_crossbar(replace(tile, states=chosen), device=linear, off=off)
    eff = NativeSolver(build_circuit(xb)).effective_matrix().T
    held = summed_conductance(xb.cell_resistance_ohm)
    return np.where(held > 0, eff / np.where(held > 0, held, 1.0), 1.0)


def _output_gain(tiles, tables, gains, states, scheme: str, n_out: int) -> np.ndarray:
    """Per output, the conductance-weighted mean effective gain of the devices that carry it, over all row tiles."""
    num, den = np.zeros(n_out), np.zeros(n_out)
    for t, tab, g, s in zip(tiles, tables, gains, states):
        held = np.take_along_axis(tab, s[None], axis=0)[0]
        cols = held.shape[1] if scheme == "differential" else held.shape[1] - 2
        per = 2 if scheme == "differential" else 1
        w = held[:, :cols].reshape(held.shape[0], -1, per).sum(axis=(0, 2))
        gw = (g * held)[:, :cols].reshape(held.shape[0], -1, per).sum(axis=(0, 2))
        num[t.outputs[0]:t.outputs[1]] += gw
        den[t.outputs[0]:t.outputs[1]] += w
    return np.where((den > 0) & (num > 0), num / np.where(den > 0, den, 1.0), 1.0)


def _best_states(table: np.ndarray, gain: np.ndarray, target: np.ndarray, unit: float, scheme: str,
                 current: np.ndarray) -> np.ndarray:
    """The states minimizing |effective weight - target| per weight; ties go to the least conductance."""
    eff = gain[None] * table  # [k, rows, cols]
    if scheme == "differential":
        plus, minus = eff[:, :, 0::2], eff[:, :, 1::2]
        value = (plus[:, None] - minus[None, :]) / unit  # [k+, k-, rows, outs]
        load = (table[:, None, :, 0::2] + table[None, :, :, 1::2]) / unit
        score = np.abs(value - target[None, None]) + 1e-9 * load
        k = score.shape[0]
        best = score.reshape(k * k, *score.shape[2:]).argmin(axis=0)
        states = np.empty_like(current)
        states[:, 0::2], states[:, 1::2] = np.divmod(best, k)
        return states
    ref = 0.5 * (eff[0, :, -2] + eff[-1, :, -1])  # the reference columns sit in states 0 and n
    value = (eff[:, :, :-2] - ref[None, :, None]) / (unit / 2.0)
    score = np.abs(value - target[None]) + 1e-9 * table[:, :, :-2] / unit
    states = current.copy()
    states[:, :-2] = score.argmin(axis=0)
    return states


def _split_off(states: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """(device states 0..n, bool [rows, cols] of devices switched off) from choices where n + 1 means off."""
    switched = states > n_cells
    return np.where(switched, 0, states), switched


def _shorted(net: AnalogNetwork, tile: Tile) -> np.ndarray:
    """bool [rows, cols]: devices of ``tile`` with a broken-down (shorted) cell, as verify finds them."""
    faults = net.spec.faults(net.tile_seed(tile))
    shape = (*tile.states.shape, net.device.n_cells)
    return (faults.kinds(shape) == SHORT).any(axis=2) if not faults.is_zero else np.zeros(shape[:2], bool)


def _row_bias(net: AnalogNetwork, x: np.ndarray) -> list[np.ndarray]:
    """Per matrix layer, each row's current-weighted mean read voltage E[v^2]/E[v] [in + 1] over ``x`` (through
    the full-precision activations): the bias at which a row's cells carry most of their current."""
    biases = []
    layers = net.model.matrix_layers()

    def record(l: int, a: np.ndarray) -> np.ndarray:
        v = net.row_voltages(a, l)
        mean = v.mean(axis=0)
        biases.append(np.where(mean > 0, (v * v).mean(axis=0) / np.where(mean > 0, mean, 1.0), 0.0))
        return a @ layers[l][0] + layers[l][1]

    net.model.forward(np.asarray(x, dtype=float), record)
    return biases
