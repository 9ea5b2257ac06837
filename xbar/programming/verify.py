"""Program-and-verify of compound SOT-MTJs: bring each device of an array to its target state.

Every device is written through its own write circuit
(:mod:`xbar.array.write_circuit`) with the switching model of :mod:`xbar.device.switching`.
The algorithm is an incremental-step pulse ramp with a read after each pulse:

1. read the device (the number k of its cells in P; the verify read resolves
   the n + 1 levels exactly); at its target it is done (*success*);
2. below the target it needs AP -> P pulses (negative polarity, with the
   assisting field), above it P -> AP pulses (positive); a change of direction
   (an overshoot being undone) starts a new ramp at the first amplitude;
3. each pulse is one step higher than the last, up to a ceiling a margin below
   the mean breakdown voltage; past the ceiling the ramp starts again;
4. a device whose channel voltage reaches its own breakdown voltage is
   *broken*: the junction with the largest voltage across it becomes a fixed
   low resistance, and stays so in the array; a device that has used up its
   ramps or pulses is *stuck*.

The loop is vectorised over all devices; the write circuit's transfer depends
only on which cells are in P, so it is solved once for each of the 2^n
configurations. Everything random comes from one seed, so the same seed gives
the same programmed array; every device ends within ``max_pulses`` pulses.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from xbar.device.compound import CompoundMTJ
from xbar.util.errors import ParameterError
from xbar.solvers.write import pulse_energy, write_transfer
from xbar.device.switching import (
    DeviceSample,
    SwitchingParams,
    breakdown_voltage,
    half_current,
    probability,
    sample_devices,
)
from xbar.array.write_circuit import WritePath, build_write_circuit

#: Device outcomes, by code.
STATUS = ("success", "stuck", "broken")
SUCCESS, STUCK, BROKEN = 0, 1, 2


@dataclass(frozen=True)
class ProgramParams:
    """The program-and-verify algorithm. Fractions are of the nominal 50 % amplitude of one cell.

    ``start_fraction`` first ramp amplitude; ``step_fraction`` the step; the ramp
    ceiling is the source amplitude that puts ``ceiling_margin_v`` volt less
    than the mean breakdown voltage across the channel. ``max_ramps`` ramps
    (the first, each reversal, each restart at the ceiling) and ``max_pulses``
    pulses before a device is stuck. Each verify read lasts ``read_s`` at
    ``v_read`` volt (assumed: 30 ns, the paper's intro; 0.1 V, the paper's read).
    """

    start_fraction: float = 0.6      # first ramp amplitude (assumed: well below switching)
    step_fraction: float = 0.02      # ramp step (assumed)
    ceiling_margin_v: float = 0.1    # ramp ceiling below the mean breakdown voltage (assumed; --ceiling-margin)
    max_ramps: int = 8               # ramps before a device is stuck (assumed)
    max_pulses: int = 400            # pulse budget per device (assumed; --max-pulses)
    read_s: float = 30e-9            # verify read length, the paper's 30 ns SOT read (introduction)
    v_read: float = 0.1              # verify read voltage, the paper's 0.1 V read

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(value):
                raise ParameterError(f"{f.name} must be a finite number, got {value!r}")
            if f.name in ("max_ramps", "max_pulses"):
                if int(value) != value or value < 1:
                    raise ParameterError(f"{f.name} must be an integer >= 1, got {value!r}")
            elif value < 0 or (value == 0 and f.name != "ceiling_margin_v"):
                raise ParameterError(f"{f.name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class ProgramResult:
    """Outcome per device; leading shape ``shape`` = the targets' shape.

    ``cells_p`` [*shape, n] final parallel flags (cell 0 nearest the read
    terminal); ``shorted`` [*shape, n] broken junctions; ``status`` [*shape]
    codes into :data:`STATUS`; ``pulses``, ``energy_j`` (write pulses and verify
    reads), ``time_s`` (pulses and reads, one device at a time) per device.
    """

    target: np.ndarray
    cells_p: np.ndarray
    shorted: np.ndarray
    status: np.ndarray
    pulses: np.ndarray
    energy_j: np.ndarray
    time_s: np.ndarray

    @property
    def states(self) -> np.ndarray:
        """Number of cells in P per device (what a read sees, ignoring shorts)."""
        return self.cells_p.sum(axis=-1)

    def summary(self) -> dict:
        """Totals: devices, yield (share at target), counts per outcome, pulses, energy and time."""
        total = int(self.status.size)
        at_target = (self.states == self.target) & (self.status != BROKEN)
        return dict(devices=total, yield_fraction=float(at_target.mean()) if total else 1.0,
                    success=int((self.status == SUCCESS).sum()), stuck=int((self.status == STUCK).sum()),
                    broken=int((self.status == BROKEN).sum()), pulses=int(self.pulses.sum()),
                    max_pulses=int(self.pulses.max()) if total else 0,
                    energy_j=float(self.energy_j.sum()), time_s=float(self.time_s.sum()),
                    longest_device_s=float(self.time_s.max()) if total else 0.0)


def _start_flags(start, shape: tuple[int, ...], n: int) -> np.ndarray:
    if start is None:
        return np.zeros(shape + (n,), dtype=bool)
    start = np.asarray(start)
    if start.dtype == bool:
        if start.shape != shape + (n,):
            raise ParameterError(f"start flags must have shape {list(shape + (n,))}, got {list(start.shape)}")
        return start.copy()
    if start.shape != shape or not np.issubdtype(start.dtype, np.integer) or start.min(initial=0) < 0 \
            or start.max(initial=0) > n:
        raise ParameterError(f"start states must be integers 0..{n} of shape {list(shape)}")
    return np.arange(n) < start[..., None]


def nominal_ramp(device: CompoundMTJ, thickness_nm: float, switching: SwitchingParams, params: ProgramParams,
                 path: WritePath) -> tuple[float, float, float]:
    """(first amplitude, step, ceiling) in source volts for a device of nominal cells."""
    tr = write_transfer(build_write_circuit(device, path))
    v_nom = half_current(switching, thickness_nm, n_cells=device.n_cells) / float(tr.cell_a.mean())
    ceiling = (breakdown_voltage(switching, thickness_nm, device.n_cells) - params.ceiling_margin_v) \
        / float(tr.channel_v[0])
    return params.start_fraction * v_nom, params.step_fraction * v_nom, ceiling


def program(device: CompoundMTJ, thickness_nm: float, target, start=None,
            switching: SwitchingParams | None = None, params: ProgramParams | None = None,
            path: WritePath | None = None, seed: int = 0, sample: DeviceSample | None = None,
            progress=None) -> ProgramResult:
    """Program-and-verify every device to ``target`` (ints 0..n, any shape); see the module doc.

    ``start``: initial states (ints, cells 0..k-1 in P) or per-cell flags
    [*shape, n]; default all AP (a field reset). ``sample`` overrides the
    devices' sampled critical currents and breakdown voltages. ``progress``: an
    optional callable taking the number of devices finished in each pass.
    """
    switching = switching or SwitchingParams()
    params = params or ProgramParams()
    path = path or WritePath()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be an integer >= 0, got {seed!r}")
    n = device.n_cells
    target = np.asarray(target)
    if not np.issubdtype(target.dtype, np.integer) or target.min(initial=0) < 0 or target.max(initial=0) > n:
        raise ParameterError(f"target states must be integers 0..{n}")
    shape = target.shape
    cells = _start_flags(start, shape, n).reshape(-1, n)
    goal = target.reshape(-1).astype(np.int64)
    count = len(goal)
    sample_rng, pulse_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    if sample is None:
        sample = sample_devices(switching, thickness_nm, n, (count,), sample_rng)
    ic0 = np.asarray(sample.ic0_a, dtype=float)
    vb = np.asarray(sample.vb_v, dtype=float).reshape(-1)
    if ic0.size != count * n or vb.size not in (1, count) or not (ic0 > 0).all() or np.isnan(vb).any():
        raise ParameterError(f"a device sample needs {count} x {n} critical currents > 0 and {count} breakdown voltages")
    ic0, vb = ic0.reshape(count, n), np.broadcast_to(vb, (count,))

    # The write circuit for every configuration of P cells (bit k: cell k in P).
    configs = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
    r_p, r_ap = device.cell_r_p(), device.cell_r_ap()
    tr = write_transfer(build_write_circuit(device, path), np.where(configs, r_p, r_ap))
    g_read = (configs / r_p + (1 - configs) / r_ap).sum(axis=1)
    v0, dv, ceiling = nominal_ramp(device, thickness_nm, switching, params, path)
    per_pulse_s = path.rise_s + switching.pulse_s + path.fall_s + params.read_s
    weights = 1 << np.arange(n)

    status = np.full(count, -1, dtype=np.int8)
    shorted = np.zeros((count, n), dtype=bool)
    pulses = np.zeros(count, dtype=np.int64)
    ramps = np.zeros(count, dtype=np.int64)
    step = np.zeros(count, dtype=np.int64)
    direction = np.zeros(count, dtype=np.int8)
    energy = np.zeros(count)
    active = np.arange(count)
    while len(active):
        k = cells[active].sum(axis=1)
        reached = k == goal[active]
        status[active[reached]] = SUCCESS
        finished = int(reached.sum())
        active, k = active[~reached], k[~reached]
        d = np.sign(goal[active] - k).astype(np.int8)
        turn = d != direction[active]
        ramps[active[turn]] += 1
        step[active[turn]] = 0
        direction[active] = d
        over = v0 + step[active] * dv > ceiling
        ramps[active[over]] += 1
        step[active[over]] = 0
        stuck = (ramps[active] > params.max_ramps) | (pulses[active] >= params.max_pulses)
        status[active[stuck]] = STUCK
        finished += int(stuck.sum())
        active, d = active[~stuck], d[~stuck]
        if progress is not None and finished:
            progress(finished)
        if not len(active):
            break
        amp = v0 + step[active] * dv
        cfg = cells[active].astype(np.int64) @ weights
        energy[active] += pulse_energy(tr.g_in[cfg], amp, switching.pulse_s, path.rise_s, path.fall_s) \
            + params.v_read ** 2 * g_read[cfg] * params.read_s
        pulses[active] += 1
        step[active] += 1
        broken = amp * tr.channel_v[cfg] >= vb[active]
        if broken.any():
            hit = active[broken]
            shorted[hit, np.abs(tr.junction_v[cfg[broken]]).argmax(axis=1)] = True
            status[hit] = BROKEN
            if progress is not None:
                progress(int(broken.sum()))
            active, amp, cfg, d = active[~broken], amp[~broken], cfg[~broken], d[~broken]
        current = amp[:, None] * tr.cell_a[cfg]
        p = probability(switching, current, ic0[active], sample.delta)
        candidate = cells[active] == (d < 0)[:, None]  # AP cells switch up, P cells switch down
        flip = candidate & (pulse_rng.random(candidate.shape) < p)
        cells[active] ^= flip
    time = pulses * per_pulse_s
    return ProgramResult(target=target.copy(), cells_p=cells.reshape(shape + (n,)),
                         shorted=shorted.reshape(shape + (n,)), status=status.reshape(shape),
                         pulses=pulses.reshape(shape), energy_j=energy.reshape(shape), time_s=time.reshape(shape))


def ramp_voltages(device: CompoundMTJ, thickness_nm: float, switching: SwitchingParams | None = None, path: WritePath | None = None,
                  seed: int = 0, amplitudes=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An R(V) ramp like the paper's Fig. 4b/f: one device from all AP, pulses of rising amplitude, a read after each.

    Returns (source amplitudes [m] V, channel voltages [m] V, states after each
    pulse [m]). Breakdown is ignored (the ramp shows switching only).
    ``states_seen`` is unused by the physics; it is kept 0.
    """
    switching = switching or SwitchingParams()
    path = path or WritePath()
    n = device.n_cells
    sample = sample_devices(switching, thickness_nm, n, (), np.random.default_rng(seed))
    circuit = build_write_circuit(device, path)
    configs = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
    tr = write_transfer(circuit, np.where(configs, device.cell_r_p(), device.cell_r_ap()))
    if amplitudes is None:
        amplitudes = np.arange(0.05, 6.0, 0.01)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    cells = np.zeros(n, dtype=bool)
    v_ch, states = [], []
    for amp in amplitudes:
        cfg = int(cells.astype(int) @ (1 << np.arange(n)))
        p = probability(switching, amp * tr.cell_a[cfg], sample.ic0_a, sample.delta)
        cells |= rng.random(n) < p
        v_ch.append(amp * tr.channel_v[cfg])
        states.append(int(cells.sum()))
    return np.asarray(amplitudes, dtype=float), np.array(v_ch), np.array(states)
