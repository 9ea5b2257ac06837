"""SOT switching of one MTJ cell: critical current, thermal activation, cell spread and breakdown.

Physics from Kumar et al., Nanoscale Horiz. 2024, 9, 1522 (section D, Fig. 4,
Methods), completed with typical values where the paper is silent. Every
number lives in :class:`SwitchingParams` and :data:`PARAMETER_SOURCES` says
where it comes from and whether it is measured, fitted or assumed.

Model, per cell:

* **Critical current.** The macrospin form of the paper's eq. 1,
  I_c = k M_s (H_ct + M_s t - K_s) w_HM t_HM, is linear in the free-layer
  thickness t: I_c0(t) = s (t - t_x). Its two constants are fitted so that a
  1-cell device (channel 300 ohm, :func:`xbar.device.compound.channel_resistance`)
  switches with 50 % probability under one 200 ns pulse at the paper's field-free
  critical voltages, 0.7 V at 1.6 nm and 2.0 V at 2.6 nm (Fig. 4c).
* **Thermal activation.** A pulse of width t_p and channel current I switches
  a cell with P = 1 - exp(-t_p / tau), tau = tau0 exp(Delta (1 - I / I_c0)).
  The 50 % point is I_50 = I_c0 (1 - ln(t_p / tau0 / ln 2) / Delta).
  Delta grows with t (the paper ascribes the higher V_c of thick layers to a
  larger thermal stability; the coercivity is thickness-independent, Fig. 3e,
  so E_b ~ volume ~ t).
* **Assisting field.** A field H along the easy axis, in the direction of
  the target state, lowers the critical current: I_c0(H) = I_c0(0) (1 - H / H_K).
  H_K is the zero-temperature switching field. The free layer's R(H) loop
  switches at a lower field, H_s = 12.7 -> 14.8 mT (Fig. 3e), because a slow
  loop gives thermal activation time: Sharrock's law,
  H_s = H_K (1 - sqrt(ln(t_loop / tau0 / ln 2) / Delta)), gives H_K from H_s
  with the model's own Delta and tau0 (34-46 mT). Taking H_K = H_s instead
  would make 6 mT lower V_c by 40 %, too much for the paper's remark that
  2.6 nm 3-cell devices break down before they switch fully at 6 mT.
* **Devices of several cells.** The paper measures that a 3-cell device
  (600 ohm channel) needs only ~20-30 % more voltage than a 1-cell one
  (300 ohm) to switch fully at the same field (section D, Fig. 4g), where
  equal critical currents per cell would need ~2.1x. The model meets the
  paper through one fitted ratio r = ``multi_cell_vc_ratio`` (1.25): an
  n-cell device's median full-switching voltage is vc_ratio(n) V_c(1), linear
  in the channel resistance (so in its length) through 1 at one cell and r at
  three (:func:`vc_ratio`); the per-cell critical current follows
  (:func:`multi_cell_factor`): 0.59x the 1-cell one at 3 cells, which the
  paper's explanation (the longer channel's resistance alone) does not
  account for. The same voltages would follow from ~0.9 kohm in series with
  the channel inside the paper's V. The model takes the per-cell form: the
  paper gives V as the voltage across the channel, and its V_B of 1.7-2.0 V
  as one the device sustains, whereas a series resistance would leave the
  channel a quarter to a half of V at breakdown. ``multi_cell_vc_ratio=None``
  gives the plain physics, equal per-cell critical current.
* **Spread.** Each cell's I_c0 is the nominal value times a log-normal factor,
  a device-to-device factor shared by a device's cells times a cell-to-cell
  factor: the cell-to-cell spread is what separates the cells of one compound
  device into distinct steps (Fig. 4f, g).
* **Breakdown.** A device breaks when the voltage across its write channel
  reaches its breakdown voltage V_B, normal around the paper's averages
  (Fig. 4h: 1.8 -> 2.0 V for 1 cell, 1.7 -> 1.9 V for 3 cells from 1.6 to
  2.6 nm). A broken junction reads as a fixed low resistance.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.special import ndtri

from xbar.device.compound import MAX_CELLS, channel_resistance
from xbar.util.errors import ParameterError
from xbar.device.faults import SHORT_OHM
from xbar.device.access import TNOM_C
from xbar.device.temperature import check_temperature, critical_current_factor, stability_factor

#: Free-layer thickness range the model is fitted over, nm (the paper's wedge).
THICKNESS_RANGE_NM = (1.6, 2.6)

#: Per field of :class:`SwitchingParams`: (unit, kind, source). kind is ``paper``
#: (a number the paper states), ``fitted`` (chosen so the model meets a paper
#: number) or ``assumed`` (a typical value where the paper is silent).
PARAMETER_SOURCES = {
    "pulse_s": ("s", "paper", "pulse width 200 ns (section B, Methods)"),
    "vc_thin_v": ("V", "paper", "field-free critical voltage of 1-cell devices at 1.6 nm, 0.7 V (Fig. 4c)"),
    "vc_thick_v": ("V", "paper", "field-free critical voltage of 1-cell devices at 2.6 nm, 2.0 V (Fig. 4c)"),
    "tau0_s": ("s", "assumed", "attempt time 1 ns, the usual value for thermally activated MTJ switching"),
    "delta_thin": ("1", "assumed", "thermal stability E_b/k_B T = 40 at 1.6 nm, typical of memory MTJs; "
                                   "scaled with t because H_c is thickness-independent (Fig. 3e)"),
    "hs_thin_mt": ("mT", "paper", "easy-axis saturation field H_s of the R(H) loop, 12.7 mT at 1.6 nm (Fig. 3e); "
                                  "the zero-temperature H_K follows by Sharrock's law (see loop_s)"),
    "hs_thick_mt": ("mT", "paper", "easy-axis saturation field H_s, 14.8 mT at 2.6 nm (Fig. 3e)"),
    "loop_s": ("s", "assumed", "time an R(H) loop spends near its switching field, 1 s (quasi-static loop); "
                               "enters H_K = H_s / (1 - sqrt(ln(loop_s / tau0 / ln 2) / Delta)), Sharrock's law "
                               "(M. P. Sharrock, J. Appl. Phys. 76, 6413 (1994)); logarithmic: 0.1-10 s "
                               "moves H_K by -13..+16 % at 1.6 nm, -7..+8 % at 2.6 nm"),
    "field_mt": ("mT", "paper", "assisting field 6 mT (6-10 mT used, Methods; -6 mT in Fig. 4g)"),
    "multi_cell_vc_ratio": ("1", "fitted", "voltage that switches a 3-cell device fully over that of a 1-cell "
                                           "device at the same field, 1.25: the middle of section D's ~20-30 % "
                                           "(Fig. 4g, -6 mT). Sets the per-cell I_c0 of n-cell devices "
                                           "(multi_cell_factor); None: equal per-cell I_c0 (plain physics, ~2.1x). "
                                           "Fitted as a per-cell critical-current efficiency, not as a series "
                                           "resistance (~0.9 kohm) inside the paper's V: the paper gives its V as "
                                           "across the channel and its V_B (1.7-2.0 V) is a voltage the device "
                                           "sees"),
    "sigma_cell": ("1", "assumed", "cell-to-cell log-normal spread of I_c0, 8 %: enough to separate a "
                                   "3-cell device's 4 states as in Fig. 4f/g"),
    "sigma_device": ("1", "assumed", "device-to-device log-normal spread of I_c0, 5 %"),
    "vb_1cell_thin_v": ("V", "paper", "mean breakdown voltage, 1 cell, 1.6 nm: 1.8 V (Fig. 4h)"),
    "vb_1cell_thick_v": ("V", "paper", "mean breakdown voltage, 1 cell, 2.6 nm: 2.0 V (Fig. 4h)"),
    "vb_per_cell_v": ("V", "fitted", "change of V_B per added cell, -0.05 V: the 3-cell window (1.7-1.9 V) "
                                     "lies 0.1 V below the 1-cell one (Fig. 4h); linear in n assumed"),
    "sigma_vb_v": ("V", "assumed", "device-to-device spread of V_B, 0.05 V (Fig. 4h gives averages only)"),
    "short_ohm": ("ohm", "assumed", "a broken (hard-breakdown) junction reads 500 ohm, far below R_P "
                                    "(xbar.device.faults.SHORT_OHM, shared with the fault model)"),
    "channel_width_m": ("m", "paper", "write channel width 0.9 um (section B)"),
    "channel_thickness_m": ("m", "paper", "write channel Ta(4)/Pt(10): 14 nm (Methods)"),
    "temperature_c": ("C", "assumed", "operating temperature; the fits hold at 27 C (room temperature, SPICE's "
                                      "T_nom); elsewhere Delta and I_c0 scale with M_s(T) (Bloch's law) and 1/T "
                                      "(xbar.device.temperature)"),
}


@dataclass(frozen=True)
class SwitchingParams:
    """Every switching parameter, SI units (fields in mT where named so). See :data:`PARAMETER_SOURCES`."""

    pulse_s: float = 200e-9
    vc_thin_v: float = 0.7
    vc_thick_v: float = 2.0
    tau0_s: float = 1e-9
    delta_thin: float = 40.0
    hs_thin_mt: float = 12.7
    hs_thick_mt: float = 14.8
    loop_s: float = 1.0
    field_mt: float = 6.0
    multi_cell_vc_ratio: float | None = 1.25
    sigma_cell: float = 0.08
    sigma_device: float = 0.05
    vb_1cell_thin_v: float = 1.8
    vb_1cell_thick_v: float = 2.0
    vb_per_cell_v: float = -0.05
    sigma_vb_v: float = 0.05
    short_ohm: float = SHORT_OHM
    channel_width_m: float = 0.9e-6
    channel_thickness_m: float = 14e-9
    temperature_c: float = TNOM_C
    stochastic: bool = True

    def __post_init__(self):
        for f in fields(self):
            if f.name == "stochastic":
                if not isinstance(self.stochastic, (bool, np.bool_)):
                    raise ParameterError(f"stochastic must be True or False, got {self.stochastic!r}")
                continue
            if f.name == "multi_cell_vc_ratio" and self.multi_cell_vc_ratio is None:
                continue
            value = getattr(self, f.name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ParameterError(f"{f.name} must be a number, got {value!r}")
            value = float(value)
            if np.isnan(value) or (np.isinf(value) and f.name != "vb_1cell_thin_v" and f.name != "vb_1cell_thick_v"):
                raise ParameterError(f"{f.name} must be finite, got {value!r}")
            negative_ok = f.name in ("vb_per_cell_v", "field_mt", "temperature_c")
            zero_ok = f.name in ("sigma_cell", "sigma_device", "sigma_vb_v", "field_mt", "vb_per_cell_v",
                                 "temperature_c")
            if (value < 0 and not negative_ok) or (value == 0 and not zero_ok):
                raise ParameterError(f"{f.name} must be {'>= 0' if zero_ok else '> 0'}, got {value!r}")
            object.__setattr__(self, f.name, value)
        check_temperature(self.temperature_c)
        if self.vc_thick_v <= self.vc_thin_v:
            raise ParameterError("vc_thick_v must exceed vc_thin_v (V_c rises with thickness, Fig. 4c)")
        if abs(self.field_mt) >= min(self.hs_thin_mt, self.hs_thick_mt):
            raise ParameterError(f"assisting field {self.field_mt!r} mT must stay below the free layer's switching "
                                 f"field H_s ({min(self.hs_thin_mt, self.hs_thick_mt):g} mT), which switches it alone")
        if self.delta_thin <= max(np.log(self.pulse_s / self.tau0_s / np.log(2)),
                                  np.log(self.loop_s / self.tau0_s / np.log(2))):
            raise ParameterError("delta_thin is too small for the pulse width and loop time: the 50 % current or "
                                 "the Sharrock H_K would be <= 0 or infinite")
        r_max = channel_resistance(3) / channel_resistance(1)
        if self.multi_cell_vc_ratio is not None and not 1.0 <= self.multi_cell_vc_ratio <= r_max:
            raise ParameterError(f"multi_cell_vc_ratio must lie in 1..{r_max:g} (no extra voltage .. equal per-cell "
                                 f"critical current) or be None, got {self.multi_cell_vc_ratio!r}")

    def without_breakdown(self) -> "SwitchingParams":
        """The same model with breakdown switched off (V_B infinite)."""
        from dataclasses import replace
        return replace(self, vb_1cell_thin_v=np.inf, vb_1cell_thick_v=np.inf, sigma_vb_v=0.0)


def check_thickness(thickness_nm: float) -> float:
    """``thickness_nm`` as a float, or a ParameterError outside the fitted 1.6..2.6 nm."""
    t = float(thickness_nm)
    lo, hi = THICKNESS_RANGE_NM
    if not np.isfinite(t) or not lo - 1e-9 <= t <= hi + 1e-9:
        raise ParameterError(f"free-layer thickness must be within {lo}..{hi} nm, got {thickness_nm!r}")
    return t


def _check_cells(n_cells: int) -> int:
    if not isinstance(n_cells, (int, np.integer)) or not 1 <= n_cells <= MAX_CELLS:
        raise ParameterError(f"n_cells must be an integer in 1..{MAX_CELLS}, got {n_cells!r}")
    return int(n_cells)


def _along(t: float, thin: float, thick: float) -> float:
    if thin == thick:  # also infinite (breakdown switched off)
        return thin
    lo, hi = THICKNESS_RANGE_NM
    return thin + (thick - thin) * (t - lo) / (hi - lo)


def _delta_27c(p: SwitchingParams, thickness_nm: float) -> float:
    """Delta at 27 C, where the model is fitted: proportional to t (assumed, see the module doc)."""
    t = check_thickness(thickness_nm)
    return p.delta_thin * t / THICKNESS_RANGE_NM[0]


def thermal_stability(p: SwitchingParams, thickness_nm: float) -> float:
    """Delta = E_b / k_B T at ``thickness_nm`` and ``p.temperature_c`` (:func:`xbar.device.temperature.stability_factor`)."""
    return _delta_27c(p, thickness_nm) * stability_factor(p.temperature_c)


def half_current_factor(p: SwitchingParams, delta: float) -> float:
    """I_50 / I_c0 = 1 - ln(t_p / tau0 / ln 2) / Delta for one pulse of width ``p.pulse_s``."""
    return 1.0 - np.log(p.pulse_s / p.tau0_s / np.log(2.0)) / delta


def eq1_line(p: SwitchingParams) -> tuple[float, float]:
    """(slope A/nm, crossover thickness t_x nm) of I_c0(t) = slope (t - t_x), the paper's eq. 1 fitted to Fig. 4c.

    Chosen so that the field-free 50 % current of a 1-cell device (channel
    R_ch(1)) is V_c / R_ch(1) at both ends of the wedge. t_x is where the
    interfacial anisotropy K_s cancels the demagnetizing term M_s t in eq. 1.
    """
    r1 = channel_resistance(1)
    lo, hi = THICKNESS_RANGE_NM
    i_lo = p.vc_thin_v / r1 / half_current_factor(p, _delta_27c(p, lo))
    i_hi = p.vc_thick_v / r1 / half_current_factor(p, _delta_27c(p, hi))
    slope = (i_hi - i_lo) / (hi - lo)
    return slope, lo - i_lo / slope


def anisotropy_field(p: SwitchingParams, thickness_nm: float) -> float:
    """Zero-temperature switching field H_K in mT from the R(H) loop's H_s by Sharrock's law (see the module doc)."""
    t = check_thickness(thickness_nm)
    hs = _along(t, p.hs_thin_mt, p.hs_thick_mt)
    return hs / (1.0 - np.sqrt(np.log(p.loop_s / p.tau0_s / np.log(2.0)) / _delta_27c(p, t)))


def vc_ratio(p: SwitchingParams, n_cells: int) -> float:
    """Median voltage that switches all cells of an n-cell device over V_c of a 1-cell one, at equal field.

    Linear in the channel resistance R_ch(n) (so in the channel length, and in
    n) through 1 at one cell and ``p.multi_cell_vc_ratio`` at three: the form of
    a fixed resistance R_eq = (R_ch(3) - r R_ch(1)) / (r - 1) in series with
    the channel (0.9 kohm at r = 1.25), which keeps the extrapolation to 6
    cells monotone, >= 1 and below the plain R_ch(n) / R_ch(1). With
    ``multi_cell_vc_ratio=None``: the plain physics, R_ch(n) / R_ch(1) times the
    hardest cell's spread factor (:func:`hardest_cell_factor`).
    """
    n = _check_cells(n_cells)
    r1, rn = channel_resistance(1), channel_resistance(n)
    if p.multi_cell_vc_ratio is None:
        return rn / r1 * hardest_cell_factor(p, n)
    return 1.0 + (p.multi_cell_vc_ratio - 1.0) * (rn - r1) / (channel_resistance(3) - r1)


def hardest_cell_factor(p: SwitchingParams, n_cells: int) -> float:
    """Median over devices of the largest of n cells' log-normal I_c0 factors: exp(sigma_cell Phi^-1(2^(-1/n)))."""
    n = _check_cells(n_cells)
    return float(np.exp(p.sigma_cell * ndtri(0.5 ** (1.0 / n))))


def multi_cell_factor(p: SwitchingParams, n_cells: int) -> float:
    """I_c0 of a cell of an n-cell device over that of a 1-cell device (1 at n = 1; 1 for every n when plain).

    vc_ratio(n) R_ch(1) / R_ch(n) / hardest_cell_factor(n): the nominal cell
    current that puts an n-cell device's median full-switching voltage at
    vc_ratio(n) times the 1-cell V_c. Falls monotonically with n for any
    ratio in 1..2 (0.59 at 3 cells and 0.42 at 6 with r = 1.25 and 8 % spread).
    Not explained by the paper: it attributes the 3-cell device's extra
    voltage to the longer channel alone, which would give 1 here.
    """
    n = _check_cells(n_cells)
    if p.multi_cell_vc_ratio is None:
        return 1.0
    return vc_ratio(p, n) * channel_resistance(1) / channel_resistance(n) / hardest_cell_factor(p, n)


def critical_current(p: SwitchingParams, thickness_nm: float, field_mt: float | None = None,
                     n_cells: int = 1) -> float:
    """Nominal I_c0 in ampere of one cell of an ``n_cells`` device at ``thickness_nm`` under an assisting field.

    Zero-temperature critical current: eq. 1 at zero field, times 1 - H/H_K,
    times :func:`multi_cell_factor`, times M_s(T)^2 at ``p.temperature_c``
    (:func:`xbar.device.temperature.critical_current_factor`). ``field_mt`` defaults to ``p.field_mt``;
    it must stay below the R(H) switching field H_s.
    """
    t = check_thickness(thickness_nm)
    h = p.field_mt if field_mt is None else float(field_mt)
    hs = _along(t, p.hs_thin_mt, p.hs_thick_mt)
    if not np.isfinite(h) or abs(h) >= hs:
        raise ParameterError(f"assisting field must be finite and below H_s = {hs:.3g} mT, got {field_mt!r}")
    slope, t_x = eq1_line(p)
    return (slope * (t - t_x) * (1.0 - abs(h) / anisotropy_field(p, t)) * multi_cell_factor(p, n_cells)
            * critical_current_factor(p.temperature_c))


def half_current(p: SwitchingParams, thickness_nm: float, field_mt: float | None = None, n_cells: int = 1) -> float:
    """Nominal current in ampere that switches one cell of an ``n_cells`` device with 50 % probability in one pulse."""
    delta = thermal_stability(p, thickness_nm)
    return critical_current(p, thickness_nm, field_mt, n_cells) * half_current_factor(p, delta)


def switching_probability(current_a, ic0_a, delta, pulse_s: float, tau0_s: float) -> np.ndarray:
    """P = 1 - exp(-t_p / tau), tau = tau0 exp(Delta (1 - I / I_c0)); broadcast over arrays.

    ``current_a`` is the magnitude of the channel current in the switching
    direction; a current <= 0 never switches.
    """
    current = np.asarray(current_a, dtype=float)
    exponent = np.clip(np.asarray(delta) * (1.0 - current / np.asarray(ic0_a)), -700.0, 700.0)
    p = -np.expm1(-(pulse_s / tau0_s) * np.exp(-exponent))
    return np.where(current > 0, p, 0.0)


def probability(p: SwitchingParams, current_a, ic0_a, delta) -> np.ndarray:
    """Switching probability of cells under one pulse: thermal activation, or a step at I_50 when not stochastic."""
    if p.stochastic:
        return switching_probability(current_a, ic0_a, delta, p.pulse_s, p.tau0_s)
    return (np.asarray(current_a) >= np.asarray(ic0_a) * half_current_factor(p, delta)).astype(float)


def breakdown_voltage(p: SwitchingParams, thickness_nm: float, n_cells: int) -> float:
    """Mean breakdown voltage in volt across the write channel (Fig. 4h), linear in thickness and cells."""
    t, n = check_thickness(thickness_nm), _check_cells(n_cells)
    return _along(t, p.vb_1cell_thin_v, p.vb_1cell_thick_v) + p.vb_per_cell_v * (n - 1)


def current_density(p: SwitchingParams, current_a) -> np.ndarray:
    """Channel current density in A/m^2 of a channel current (width x Ta/Pt thickness)."""
    return np.asarray(current_a) / (p.channel_width_m * p.channel_thickness_m)


@dataclass(frozen=True)
class DeviceSample:
    """Sampled switching parameters of a population of compound devices.

    ``ic0_a`` [..., cells] each cell's zero-temperature critical current (ampere,
    at the model's assisting field), ``vb_v`` [...] each device's breakdown voltage
    across its channel, ``delta`` the thermal stability (same for all).
    """

    ic0_a: np.ndarray
    vb_v: np.ndarray
    delta: float


def sample_devices(p: SwitchingParams, thickness_nm: float, n_cells: int, shape: tuple[int, ...],
                   rng: np.random.Generator) -> DeviceSample:
    """Critical currents [*shape, n_cells] and breakdown voltages [*shape] drawn from ``rng``."""
    n = _check_cells(n_cells)
    ic0 = critical_current(p, thickness_nm, n_cells=n)
    dev = rng.lognormal(0.0, p.sigma_device, size=tuple(shape) + (1,)) if p.sigma_device else 1.0
    cell = rng.lognormal(0.0, p.sigma_cell, size=tuple(shape) + (n,)) if p.sigma_cell else 1.0
    vb = breakdown_voltage(p, thickness_nm, n)
    vb_v = vb + p.sigma_vb_v * rng.standard_normal(shape) if p.sigma_vb_v else np.full(shape, vb)
    return DeviceSample(ic0_a=np.broadcast_to(ic0 * dev * cell, tuple(shape) + (n,)).copy(),
                        vb_v=np.asarray(vb_v, dtype=float), delta=thermal_stability(p, thickness_nm))


def field_free_probability(p: SwitchingParams, thickness_nm: float, n_cells: int = 1,
                           samples: int = 20000, seed: int = 0) -> float:
    """Share of devices that switch fully, field-free, before they break down (the paper's Fig. 4d).

    A device switches when the channel voltage of its hardest cell's 50 % point,
    I_50 R_ch(n), lies below its breakdown voltage; estimated over ``samples``
    devices drawn with ``seed`` (deterministic). ~50 % at 2.6 nm, where the
    paper saw none of up to 10 devices: Fig. 4c's V_c equals the mean V_B
    there (README "Writing", Fig. 4d).
    """
    from dataclasses import replace
    n = _check_cells(n_cells)
    s = sample_devices(replace(p, field_mt=0.0), thickness_nm, n, (int(samples),), np.random.default_rng(seed))
    v_switch = s.ic0_a.max(axis=-1) * half_current_factor(p, s.delta) * channel_resistance(n)
    return float(np.mean(v_switch < s.vb_v))


def parameter_table(p: SwitchingParams | None = None) -> str:
    """Markdown table of every parameter: value, unit, kind (paper / fitted / assumed) and source."""
    p = p or SwitchingParams()
    lines = ["| parameter | value | unit | kind | source |", "|---|---|---|---|---|"]
    for name, (unit, kind, source) in PARAMETER_SOURCES.items():
        value = getattr(p, name)
        shown = "None" if value is None else format(value, ".6g")
        lines.append(f"| `{name}` | {shown} | {unit} | {kind} | {source} |")
    slope, t_x = eq1_line(p)
    lines.append(f"| eq. 1 slope | {slope * 1e3:.4g} | mA/nm | fitted | I_c0(t) = slope (t - t_x) through Fig. 4c's ends |")
    lines.append(f"| eq. 1 t_x | {t_x:.4g} | nm | fitted | thickness where eq. 1's I_c0 vanishes (K_s = M_s t) |")
    lo, hi = THICKNESS_RANGE_NM
    lines.append(f"| H_K | {anisotropy_field(p, lo):.4g} -> {anisotropy_field(p, hi):.4g} | mT | derived "
                 f"| zero-temperature switching field at {lo}/{hi} nm, Sharrock's law from H_s |")
    lines.append(f"| 3-cell V ratio | {vc_ratio(p, 3):.4g} | 1 | derived | median full-switching voltage, 3 cells over "
                 f"1 cell, equal field |")
    lines.append(f"| per-cell I_c0, 3 / 6 cells | {multi_cell_factor(p, 3):.4g} / {multi_cell_factor(p, 6):.4g} | 1 "
                 f"| derived | over a 1-cell device's (multi_cell_factor) |")
    return "\n".join(lines)
