"""Seeded log-normal device-to-device and cell-to-cell variation of R_P and R_AP."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xbar.util.errors import ParameterError
from xbar.util.ranges import check
from xbar.util.validate import integer


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


#: The names of the spreads a :class:`Variation` holds, as the circuit specification names them too.
SIGMA_FIELDS = ("sigma", "device_ra_sigma", "cell_ra_sigma", "device_tmr_sigma", "cell_tmr_sigma")


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
            object.__setattr__(self, name, check(name, getattr(self, name)))
        object.__setattr__(self, "seed", integer("variation seed", self.seed, low=0))
        if self.sigma > 0 and self.correlated:
            raise ParameterError("give either the independent variation sigma or the correlated RA/TMR "
                                 "sigmas, not both")

    @classmethod
    def typical(cls, seed: int = 0, scale: float = 1.0) -> "Variation":
        """Correlated variation with the documented typical spreads, times ``scale`` (``--variation-scale``)."""
        s = check("variation_scale", scale)
        return cls(seed=seed, device_ra_sigma=s * TYPICAL_DEVICE_RA_SIGMA, cell_ra_sigma=s * TYPICAL_CELL_RA_SIGMA,
                   device_tmr_sigma=s * TYPICAL_DEVICE_TMR_SIGMA, cell_tmr_sigma=s * TYPICAL_CELL_TMR_SIGMA)

    def scaled(self, scale: float) -> "Variation":
        """Every sigma times ``scale`` (0..10, the range table's ``variation_scale``), same seed."""
        s = check("variation_scale", scale)
        return Variation(s * self.sigma, self.seed, s * self.device_ra_sigma, s * self.cell_ra_sigma,
                         s * self.device_tmr_sigma, s * self.cell_tmr_sigma)

    def sigma_fields(self) -> dict[str, float]:
        """The five spreads by name (``sigma``, ``device_ra_sigma``, ..., ``cell_tmr_sigma``): the
        :class:`~xbar.network.circuit_spec.CircuitSpec` keywords that hold them."""
        return {k: getattr(self, k) for k in SIGMA_FIELDS}

    @property
    def correlated(self) -> bool:
        """True when any correlated (RA/TMR) spread is set."""
        return any(v > 0 for v in (self.device_ra_sigma, self.cell_ra_sigma,
                                   self.device_tmr_sigma, self.cell_tmr_sigma))

    @property
    def is_zero(self) -> bool:
        """True when no variation is set."""
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
