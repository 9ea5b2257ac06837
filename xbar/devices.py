"""Device models: the MTJ, the compound SOT-MTJ and the paper's device library.

Physics from Kumar et al., Nanoscale Horiz. 2024, 9, 1522 ("the paper"). All
resistances are in ohm, conductances in siemens, thicknesses in nanometre.

A compound SOT-MTJ is ``n`` MTJ cells standing on one shared Pt/Ta write
channel; their top electrodes are tied together, so a read sees the cells in
parallel, 1/R = sum 1/R_i (paper, section D). With ``k`` of the ``n`` cells in
the parallel (P) state the device has conductance
``G_k = k / R_P + (n - k) / R_AP``, giving ``n + 1`` read states, k = 0..n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ParameterError
from .validate import instance, integer, real

#: Write-channel resistance model, ohm: R_ch(n) = CHANNEL_BASE_OHM + CHANNEL_PER_CELL_OHM * n.
#: The paper measures ~300 ohm for the 1-cell channel and ~600 ohm for the 3-cell
#: channel (section D); the straight line through both gives a 150 ohm fixed part
#: (contacts and the two channel ends) plus 150 ohm per cell pitch.
CHANNEL_BASE_OHM = 150.0
CHANNEL_PER_CELL_OHM = 150.0

#: Most cells per compound device the tool models (the paper's contours go to 6).
MAX_CELLS = 6


def _check_resistance(name: str, value: float) -> float:
    try:
        return real(name, value, above=0.0)
    except ParameterError:
        raise ParameterError(f"{name} must be a finite resistance > 0 ohm, got {value!r}") from None


def channel_resistance(n_cells: int) -> float:
    """Total write-channel resistance in ohm of an ``n_cells`` compound device.

    Linear in the number of cells, through the paper's two measured points:
    300 ohm for 1 cell and 600 ohm for 3 cells.
    """
    return CHANNEL_BASE_OHM + CHANNEL_PER_CELL_OHM * n_cells


#: Typical bias half-point V_h in volt of CoFeB/MgO junctions' TMR (TMR halves at |V| = V_h).
#: Measured values lie around 0.3-0.6 V; 0.5 V is the default of the open compact models of
#: the Beihang/Zhao family (Y. Zhang, W. Zhao et al., "Compact modeling of perpendicular-
#: anisotropy CoFeB/MgO magnetic tunnel junctions", IEEE Trans. Electron Devices 59, 819 (2012),
#: parameter V_h = 0.5 V). The paper (Kumar et al.) gives no bias dependence, so the library's
#: devices stay linear (V_h = infinity) unless a caller asks for this value.
TYPICAL_V_HALF_VOLT = 0.5


#: Smallest V_h in volt the tool accepts. Measured MgO junctions lie at 0.2-1 V; below 10 mV
#: the "junction" would lose its TMR at thermal-noise biases, which no real MTJ does.
MIN_V_HALF_VOLT = 0.01


def check_v_half(value) -> float:
    """``value`` as a float V_h in volt (>= :data:`MIN_V_HALF_VOLT`; infinity: linear), else ParameterError."""
    try:
        v = float("nan") if isinstance(value, (str, bytes, bool, np.bool_, complex, np.complexfloating)) \
            else float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if np.isnan(v) or v < MIN_V_HALF_VOLT:
        raise ParameterError(f"V_h must be a voltage >= {MIN_V_HALF_VOLT:g} V (inf for a linear junction; "
                             f"MgO junctions have 0.2-1 V), got {value!r}")
    return v


def junction_current(v_volt, r_p_ohm, r_zero_ohm, v_half_volt: float):
    """Current through an MTJ cell and its differential conductance at the voltage across it.

    The one I-V of the tool (the netlist writer prints the same expression):
    R(V) = R_P + (R_0 - R_P) / (1 + (V/V_h)^2), with R_0 the zero-bias resistance
    of the cell in its state. An antiparallel cell has R_0 = R_AP(0) = R_P (1 + TMR0),
    so R(V) = R_P (1 + TMR(V)) with TMR(V) = TMR0 / (1 + (V/V_h)^2); a parallel cell has
    R_0 = R_P and stays linear (R_P is bias-independent). Arrays broadcast; returns
    ``(i_ampere, di_dv_siemens)``; the derivative is exact (> 0: the I-V is monotonic).
    """
    v = np.asarray(v_volt, dtype=float)
    dr = np.asarray(r_zero_ohm, dtype=float) - r_p_ohm
    u = (v / v_half_volt) ** 2
    r = r_p_ohm + dr / (1.0 + u)
    return v / r, (r + dr * 2.0 * u / (1.0 + u) ** 2) / r ** 2


def junction_deviation(v_volt, r_p_ohm, r_zero_ohm, v_half_volt: float) -> np.ndarray:
    """The non-linear part of :func:`junction_current`: i(V) - V / R_0, in ampere.

    Written out, d = V u (R_0 - R_P) / (R_0 (R_0 + R_P u)) with u = (V/V_h)^2, so the
    few-per-cent departure from the zero-bias line is computed without the
    cancellation of subtracting two nearly equal currents. Arrays broadcast.
    """
    v = np.asarray(v_volt, dtype=float)
    u = v * v
    u *= 1.0 / v_half_volt ** 2
    num = (r_zero_ohm - r_p_ohm) / r_zero_ohm * u
    num *= v
    u *= r_p_ohm
    u += r_zero_ohm
    num /= u
    return num


@dataclass(frozen=True)
class MTJ:
    """One magnetic tunnel junction with its two zero-bias read resistances (ohm).

    ``v_half_volt`` is the bias at which the TMR halves (see :func:`junction_current`);
    infinity (the default, the paper's model) keeps the junction linear.
    """

    r_p: float
    r_ap: float
    v_half_volt: float = np.inf

    def __post_init__(self):
        object.__setattr__(self, "r_p", _check_resistance("R_P", self.r_p))
        object.__setattr__(self, "r_ap", _check_resistance("R_AP", self.r_ap))
        if self.r_ap < self.r_p:
            raise ParameterError(f"R_AP ({self.r_ap!r} ohm) must not be below R_P ({self.r_p!r} ohm)")
        object.__setattr__(self, "v_half_volt", check_v_half(self.v_half_volt))

    @property
    def linear(self) -> bool:
        """True when the junction's resistances do not depend on bias (V_h infinite)."""
        return bool(np.isinf(self.v_half_volt))

    def tmr_at(self, v_volt):
        """TMR (fraction) at bias ``v_volt``: TMR0 / (1 + (V/V_h)^2)."""
        return self.tmr / (1.0 + (np.asarray(v_volt, dtype=float) / self.v_half_volt) ** 2)

    @property
    def tmr(self) -> float:
        """Tunnel magnetoresistance ratio (R_AP - R_P) / R_P, as a fraction (0.34 = 34 %)."""
        return (self.r_ap - self.r_p) / self.r_p

    @classmethod
    def from_tmr(cls, r_p: float, tmr: float, v_half_volt: float = np.inf) -> "MTJ":
        """MTJ with parallel resistance ``r_p`` ohm, zero-bias TMR ``tmr`` (fraction) and V_h."""
        tmr = real("TMR", tmr, low=0.0, unit="(fraction)")
        r_p = _check_resistance("R_P", r_p)
        return cls(r_p=r_p, r_ap=r_p * (1.0 + tmr), v_half_volt=v_half_volt)


@dataclass(frozen=True)
class CompoundMTJ:
    """``n_cells`` MTJ cells on one shared SOT write channel.

    ``channel_ohm`` is the whole channel's resistance; by default it follows
    :func:`channel_resistance`. Set it to 0 to model an ideal channel.

    The cells are identical copies of ``mtj`` unless ``cells`` gives each cell
    its own MTJ (cell 0 nearest the read terminal), as for cells of different
    sizes or a measured-state device (:meth:`from_state_resistances`); build
    those with :meth:`heterogeneous`, which sets ``mtj`` to the cells' mean
    (per-cell parallel-equivalent R_P and R_AP, so n/R_P = sum 1/R_P,i).
    ``state_sigma`` (optional, one per state) is a measured device-to-device
    ln-spread of each state's resistance: a device in state k has all its cells
    scaled by one factor exp(N(0, state_sigma[k]^2)).
    """

    mtj: MTJ
    n_cells: int = 1
    channel_ohm: float | None = None
    cells: tuple[MTJ, ...] | None = None
    state_sigma: tuple[float, ...] | None = None

    def __post_init__(self):
        instance("mtj", self.mtj, MTJ)
        object.__setattr__(self, "n_cells", integer("n_cells", self.n_cells, low=1, high=MAX_CELLS))
        if self.cells is not None:
            if isinstance(self.cells, (str, bytes)) or not hasattr(self.cells, "__iter__"):
                raise ParameterError(f"cells must be {self.n_cells} MTJs, one per cell, got {self.cells!r}")
            cells = tuple(self.cells)
            if len(cells) != self.n_cells or not all(isinstance(c, MTJ) for c in cells):
                raise ParameterError(f"cells must be {self.n_cells} MTJs, one per cell")
            object.__setattr__(self, "cells", cells)
        if self.state_sigma is not None:
            try:
                sig = np.asarray(self.state_sigma)
                ok = sig.ndim == 1 and sig.dtype.kind in "iuf" and sig.size == self.n_cells + 1
                ok = ok and bool(np.all(np.isfinite(sig)) and np.all(sig >= 0))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ParameterError(f"state_sigma must be {self.n_cells + 1} finite spreads >= 0, one per state")
            object.__setattr__(self, "state_sigma", tuple(float(v) for v in sig))
        if self.channel_ohm is None:
            object.__setattr__(self, "channel_ohm", channel_resistance(self.n_cells))
        object.__setattr__(self, "channel_ohm", real("channel_ohm", self.channel_ohm, low=0.0, unit="ohm"))

    @classmethod
    def heterogeneous(cls, cells, channel_ohm: float | None = None) -> "CompoundMTJ":
        """A device whose cells differ: ``cells`` one MTJ per cell, cell 0 nearest the read terminal."""
        cells = tuple(cells)
        if not 1 <= len(cells) <= MAX_CELLS or not all(isinstance(c, MTJ) for c in cells):
            raise ParameterError(f"a heterogeneous device needs 1..{MAX_CELLS} MTJ cells, got {len(cells)}")
        n = len(cells)
        if len({c.v_half_volt for c in cells}) > 1:
            raise ParameterError("the cells of one device must share one V_h (bias half-point)")
        mean = MTJ(r_p=n / sum(1.0 / c.r_p for c in cells), r_ap=n / sum(1.0 / c.r_ap for c in cells),
                   v_half_volt=cells[0].v_half_volt)
        return cls(mean, n, channel_ohm, cells)

    @classmethod
    def from_state_resistances(cls, state_ohm, channel_ohm: float | None = 0.0,
                               state_sigma=None) -> "CompoundMTJ":
        """A device that reads the measured resistance ``state_ohm[k]`` (ohm) in state k, k = 0..n.

        State 0 (all cells AP) has the highest resistance, state n the lowest. A
        measured-state device has no single R_P, so it is represented by n cells
        that differ: every cell has the same R_AP = n R_0 and cell i adds
        G_(i+1) - G_i when it switches to P (G_k = 1 / state_ohm[k]). With zero
        channel and wires the device then reads exactly the measured values; the
        circuit and netlist treat it like any other device (cells on the channel,
        see :mod:`xbar.circuit`). ``channel_ohm`` defaults to 0 because measured
        values already contain the channel's share of the read path.
        """
        r = np.asarray(state_ohm, dtype=float)
        if r.ndim != 1 or not 2 <= r.size <= MAX_CELLS + 1:
            raise ParameterError(f"state resistances must list 2..{MAX_CELLS + 1} states (1..{MAX_CELLS} cells), "
                                 f"got {r.size}")
        for k, v in enumerate(r):
            _check_resistance(f"state {k} resistance", v)
        if np.any(np.diff(r) >= 0):
            k = int(np.argmax(np.diff(r) >= 0))
            raise ParameterError(f"state resistances must fall from state 0 (all AP) to state {r.size - 1} "
                                 f"(all P): state {k + 1} ({r[k + 1]:g} ohm) is not below state {k} ({r[k]:g} ohm)")
        g = 1.0 / r
        n = r.size - 1
        cells = [MTJ(r_p=1.0 / (g[0] / n + g[i + 1] - g[i]), r_ap=n / g[0]) for i in range(n)]
        dev = cls.heterogeneous(cells, channel_ohm)
        return cls(dev.mtj, n, dev.channel_ohm, dev.cells, None if state_sigma is None else tuple(state_sigma))

    def with_v_half(self, v_half_volt: float) -> "CompoundMTJ":
        """The same device with every cell's TMR bias half-point at ``v_half_volt`` (inf: linear)."""
        v = check_v_half(v_half_volt)

        def junction(m: MTJ) -> MTJ:
            return MTJ(m.r_p, m.r_ap, v)
        cells = None if self.cells is None else tuple(junction(c) for c in self.cells)
        return CompoundMTJ(junction(self.mtj), self.n_cells, self.channel_ohm, cells, self.state_sigma)

    @property
    def n_states(self) -> int:
        return self.n_cells + 1

    def cell_r_p(self) -> np.ndarray:
        """Each cell's nominal R_P in ohm, shape [n_cells]."""
        return np.array([c.r_p for c in self.cells]) if self.cells else np.full(self.n_cells, self.mtj.r_p)

    def cell_r_ap(self) -> np.ndarray:
        """Each cell's nominal R_AP in ohm, shape [n_cells]."""
        return np.array([c.r_ap for c in self.cells]) if self.cells else np.full(self.n_cells, self.mtj.r_ap)

    def conductances(self) -> np.ndarray:
        """Read conductances G_k in siemens, shape [n_cells + 1], k = number of cells in P.

        State k has cells 0..k-1 in P (see :meth:`cell_states`). Cells only; the
        channel is part of the circuit, not of these ideal levels.
        """
        k = np.arange(self.n_cells + 1)
        if self.cells:
            g_p, g_ap = 1.0 / self.cell_r_p(), 1.0 / self.cell_r_ap()
            return np.concatenate([[0.0], np.cumsum(g_p)]) + g_ap.sum() - np.concatenate([[0.0], np.cumsum(g_ap)])
        return k / self.mtj.r_p + (self.n_cells - k) / self.mtj.r_ap

    def level_fractions(self) -> np.ndarray:
        """(G_k - G_0) / (G_n - G_0), shape [n_cells + 1]: 0..1, equal steps k/n for identical cells.

        The mapping's weight levels are built from these, so uneven (measured or
        multi-sized) states quantize onto where they really are.
        """
        if not self.cells:
            return np.arange(self.n_cells + 1) / self.n_cells
        g = self.conductances()
        return (g - g[0]) / (g[-1] - g[0])

    def resistances(self) -> np.ndarray:
        """Read resistances 1/G_k in ohm, shape [n_cells + 1], descending."""
        return 1.0 / self.conductances()

    def normalized_levels(self) -> np.ndarray:
        """G_k / G_max, shape [n_cells + 1], ascending, last entry 1.

        These are the quantization levels of the paper's Methods ("normalized
        conductance states"); with 1 cell and TMR 100 % they are 0.5 and 1.
        """
        g = self.conductances()
        return g / g[-1]

    def cell_states(self, state: np.ndarray) -> np.ndarray:
        """Expand device states k (any shape, ints 0..n) into per-cell P flags.

        Returns a bool array of shape ``state.shape + (n_cells,)``. Convention:
        state k puts cells 0..k-1 in P, where cell 0 sits nearest the channel's
        read terminal. The convention matters only when the channel has resistance.
        """
        state = np.asarray(state)
        bad = ~np.isfinite(state) | (state != np.round(state)) | (state < 0) | (state > self.n_cells)
        if bad.any():
            raise ParameterError(
                f"unknown device state {state[bad].flat[0].item()!r}: states of a {self.n_cells}-cell device are 0..{self.n_cells}")
        return np.arange(self.n_cells) < state[..., None]


# --- The paper's device library ---------------------------------------------------------
#
# Fig. 3f gives R_P, R_AP and TMR against free-layer thickness only as a plot; the
# text fixes these anchors, and the table below interpolates between them:
#   * 1.6 nm: R_P = 25.2 kohm, R_AP = 33.8 kohm (section C, Fig. 3b) -> TMR 34.1 %;
#   * TMR rises gently, ~33-40 %, below 1.9 nm, then surges near-exponentially to 78 %
#     at 2.6 nm (section C). Here: linear 34.1 -> 40 % over 1.6-1.9 nm, then
#     40 % * exp(k (t - 1.9)) with k = ln(78/40)/0.7 up to 2.6 nm;
#   * R_P follows a "dome": it rises to a plateau at intermediate thickness and
#     falls for thick layers (section C). Its bounds come from the Methods' RA of
#     2.2-3.6 kohm um^2 on a 250 x 500 nm^2 ellipse (area 0.0982 um^2), i.e.
#     22.4-36.7 kohm. The dome below peaks at 36.7 kohm near 2.1 nm and ends at
#     22.4 kohm at 2.6 nm. R_AP = R_P (1 + TMR).
# These are trend interpolations, not measured points (except at 1.6 nm).

_THICKNESS_NM = np.round(np.arange(1.6, 2.61, 0.1), 1)
_TMR = np.concatenate([
    np.linspace(33.8 / 25.2 - 1.0, 0.40, 4),
    0.40 * np.exp(np.log(0.78 / 0.40) / 0.7 * (np.round(np.arange(2.0, 2.61, 0.1), 1) - 1.9)),
])
_R_P_OHM = np.array([25.2, 29.0, 32.2, 34.6, 36.0, 36.7, 36.4, 34.6, 31.4, 27.2, 22.4]) * 1e3


def library_thicknesses() -> np.ndarray:
    """Free-layer thicknesses in nm that the built-in library covers (1.6..2.6 step 0.1)."""
    return _THICKNESS_NM.copy()


def library_mtj(thickness_nm: float, v_half_volt: float = np.inf) -> MTJ:
    """The paper's MTJ at free-layer thickness ``thickness_nm`` (1.6..2.6 nm).

    Values between the 0.1 nm table points are linearly interpolated. ``v_half_volt``:
    the TMR's bias half-point; the paper's model is linear (infinity), a typical
    physical value is :data:`TYPICAL_V_HALF_VOLT`.
    """
    t = real("free-layer thickness", thickness_nm, unit="nm")
    if not 1.6 - 1e-9 <= t <= 2.6 + 1e-9:
        raise ParameterError(f"free-layer thickness must be within 1.6..2.6 nm, got {thickness_nm!r}")
    r_p = float(np.interp(t, _THICKNESS_NM, _R_P_OHM))
    tmr = float(np.interp(t, _THICKNESS_NM, _TMR))
    return MTJ(r_p=r_p, r_ap=r_p * (1.0 + tmr), v_half_volt=v_half_volt)


def library_device(*, thickness_nm: float, n_cells: int, v_half_volt: float = np.inf) -> CompoundMTJ:
    """A compound device of ``n_cells`` library MTJs at ``thickness_nm``, with the default channel.

    Keyword-only: both are small numbers, and ``library_device(3, 1.9)`` is an easy slip.
    ``v_half_volt``: the junctions' TMR bias half-point (default: linear, the paper's model).
    """
    return CompoundMTJ(mtj=library_mtj(thickness_nm, v_half_volt), n_cells=n_cells)


def contour_device(*, tmr: float, n_cells: int, r_p: float = 10e3, v_half_volt: float = np.inf) -> CompoundMTJ:
    """Device of the paper's Fig. 5d/e grid: R_P fixed at 10 kohm, R_AP from the TMR (a fraction; keyword-only)."""
    return CompoundMTJ(mtj=MTJ.from_tmr(r_p, tmr, v_half_volt), n_cells=n_cells)


# --- Variation --------------------------------------------------------------------------
#
# Typical spreads (standard deviations of ln R, i.e. about the relative spread), assumed for
# the correlated model below; the paper reports none. Barrier thickness and junction area set
# RA, so they move R_P and R_AP together; TMR is a separate, smaller spread. Orders of magnitude
# from the MTJ variability literature (e.g. Y. Zhang et al., IEEE Trans. Electron Devices 59,
# 819 (2012), compact model with process variation; production STT-MRAM reports R_P spreads of
# a few per cent within a die): treat them as assumed defaults, not measurements.
TYPICAL_DEVICE_RA_SIGMA = 0.05   #: device-to-device ln-spread of RA (all cells of a device together), assumed
TYPICAL_CELL_RA_SIGMA = 0.03     #: cell-to-cell ln-spread of RA within one device, assumed
TYPICAL_DEVICE_TMR_SIGMA = 0.03  #: device-to-device ln-spread of the TMR ratio, assumed
TYPICAL_CELL_TMR_SIGMA = 0.02    #: cell-to-cell ln-spread of the TMR ratio, assumed


@dataclass(frozen=True)
class Variation:
    """Seeded log-normal variation of every cell's R_P and R_AP (medians: the nominal values).

    Two models, not mixed:

    * ``sigma`` (legacy, independent): R_P and R_AP of each cell are each scaled
      by their own exp(N(0, sigma^2)). Unphysical for larger sigma: about 0.9 % of
      cells get R_AP < R_P at sigma 0.1 with 34 % TMR. Kept so earlier results replay.
    * correlated (``*_ra_sigma``, ``*_tmr_sigma``): area/barrier (RA) variation
      scales R_P and R_AP of a cell together, R_P = R_P0 exp(a); the TMR ratio
      varies on its own, TMR = TMR0 exp(t) > 0, and R_AP = R_P (1 + TMR), so
      R_AP >= R_P always. a = a_device + a_cell and t = t_device + t_cell: the
      device parts are shared by the cells of one compound device (shape
      [..., 1]), the cell parts are drawn per cell. Std of ln R_P is
      sqrt(device_ra_sigma^2 + cell_ra_sigma^2). :meth:`typical` uses
      the documented typical values above.

    The same ``seed`` always gives the same arrays.
    """

    sigma: float = 0.0
    seed: int = 0
    device_ra_sigma: float = 0.0
    cell_ra_sigma: float = 0.0
    device_tmr_sigma: float = 0.0
    cell_tmr_sigma: float = 0.0

    def __post_init__(self):
        for name in ("sigma", "device_ra_sigma", "cell_ra_sigma", "device_tmr_sigma", "cell_tmr_sigma"):
            try:
                object.__setattr__(self, name, real(f"variation {name}", getattr(self, name), low=0.0))
            except ParameterError:
                raise ParameterError(f"variation {name} must be finite and >= 0, "
                                     f"got {getattr(self, name)!r}") from None
        object.__setattr__(self, "seed", integer("variation seed", self.seed, low=0))
        if self.sigma > 0 and self.correlated:
            raise ParameterError("give either the independent variation sigma or the correlated RA/TMR "
                                 "sigmas, not both")

    @classmethod
    def typical(cls, seed: int = 0) -> "Variation":
        """Correlated variation with the documented typical spreads."""
        return cls(seed=seed, device_ra_sigma=TYPICAL_DEVICE_RA_SIGMA, cell_ra_sigma=TYPICAL_CELL_RA_SIGMA,
                   device_tmr_sigma=TYPICAL_DEVICE_TMR_SIGMA, cell_tmr_sigma=TYPICAL_CELL_TMR_SIGMA)

    @property
    def correlated(self) -> bool:
        return any(v > 0 for v in (self.device_ra_sigma, self.cell_ra_sigma,
                                   self.device_tmr_sigma, self.cell_tmr_sigma))

    @property
    def is_zero(self) -> bool:
        return self.sigma == 0 and not self.correlated

    def sample(self, r_p, r_ap, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """R_P and R_AP arrays in ohm of ``shape`` (usually [rows, cols, cells]).

        ``r_p``/``r_ap`` are the nominal values: scalars, or [cells] arrays for
        devices whose cells differ (they broadcast along the last axis).
        """
        r_p = np.broadcast_to(np.asarray(r_p, dtype=float), shape)
        r_ap = np.broadcast_to(np.asarray(r_ap, dtype=float), shape)
        if self.is_zero:
            return r_p.copy(), r_ap.copy()
        if self.sigma > 0:
            rng = np.random.default_rng(self.seed)
            factor = rng.lognormal(0.0, self.sigma, size=(2,) + tuple(shape))
            return r_p * factor[0], r_ap * factor[1]
        rng = np.random.default_rng([self.seed, 1])
        device_shape = tuple(shape[:-1]) + (1,)
        a = rng.normal(0.0, self.device_ra_sigma, device_shape) + rng.normal(0.0, self.cell_ra_sigma, shape)
        t = rng.normal(0.0, self.device_tmr_sigma, device_shape) + rng.normal(0.0, self.cell_tmr_sigma, shape)
        tmr = (r_ap - r_p) / r_p
        r_p_var = r_p * np.exp(a)
        return r_p_var, r_p_var * (1.0 + tmr * np.exp(t))
