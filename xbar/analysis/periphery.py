"""Energy and delay models of a tile's periphery: row drivers/DACs, TIAs and ADCs.

These are *models* from standard figures of merit, not circuit solutions: they
sit beside the array's exact energy (:mod:`xbar.analysis.energy`) in reports and
are labelled as such. Every parameter lives in :class:`Periphery` with its unit
and source, and every one can be overridden (``Periphery(adc_fom_j=...)`` or
``dataclasses.replace``).

* ADC: Walden figure of merit, E = FOM x 2^ENOB per conversion (R. H. Walden,
  "Analog-to-digital converter survey and analysis", IEEE JSAC 17(4), 1999).
  Default FOM 10 fJ/conversion-step, typical of moderate-speed SAR ADCs in
  B. Murmann's ADC performance survey (1997-2024); ENOB = bits - 0.5 (assumed).
  Delay: columns sharing one ADC are converted one after another at f_s.
* Row driver / DAC: the same Walden form for the input DAC (assumed FOM,
  equal to the ADC's), plus the dynamic energy C V^2 of charging each row's
  capacitance (wire and junctions, from the circuit description) once per
  read. Delay: one DAC conversion at its sample rate.
* TIA: a class-A amplifier biased for the read pulse, E = V_dd I_bias t_read per
  column (assumed 1 V, 10 uA, typical of low-power current-sense front ends);
  its settling to half an LSB with a single-pole closed loop takes
  ln(2^(bits+1)) / (2 pi GBW) (assumed GBW 1 GHz). The feedback resistor's
  I^2 R_f is counted from the solved column currents.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from xbar.util.ranges import check


@dataclass(frozen=True)
class Periphery:
    """Periphery parameters (SI units; sources in the module docstring, ranges in :mod:`xbar.util.ranges`)."""

    adc_bits: int = 8                         # ADC resolution (assumed: a common in-memory-computing choice)
    adc_fom_j: float = 10e-15                 # Walden FOM, J per conversion step (Murmann survey, SAR)
    adc_enob_loss_bits: float = 0.5           # ENOB = bits - this (assumed)
    adc_sample_rate_hz: float = 100e6         # conversions per second (assumed)
    columns_per_adc: int = 8                  # columns multiplexed onto one ADC (assumed, NeuroSim-style)
    dac_bits: int = 8                         # input DAC resolution (assumed, as the ADC's)
    dac_fom_j: float = 10e-15                 # J per conversion step (assumed equal to the ADC's)
    dac_sample_rate_hz: float = 100e6         # (assumed)
    tia_supply_volt: float = 1.0              # (assumed)
    tia_bias_ampere: float = 10e-6            # per column (assumed)
    tia_gbw_hz: float = 1e9                   # gain-bandwidth product (assumed)

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, check(f.name, getattr(self, f.name)))

    def adc_conversion_j(self) -> float:
        """One ADC conversion, joule: FOM x 2^ENOB."""
        return self.adc_fom_j * 2.0 ** max(self.adc_bits - self.adc_enob_loss_bits, 0.0)

    def dac_conversion_j(self) -> float:
        """One DAC conversion, joule."""
        return self.dac_fom_j * 2.0 ** self.dac_bits

    def tia_settle_s(self) -> float:
        """Single-pole settling of the TIA to half an LSB of the ADC, second."""
        return math.log(2.0 ** (self.adc_bits + 1)) / (2 * math.pi * self.tia_gbw_hz)


def tile_periphery(p: Periphery, rows: int, cols: int, t_read_s: float, row_farad: np.ndarray | float = 0.0,
                   row_volt_sq: np.ndarray | float = 0.0, sense_currents_sq: float = 0.0,
                   tia_feedback_ohm: float = 0.0) -> dict:
    """Model energy (joule) and delay (second) of one read of a rows x cols tile.

    ``row_farad`` [rows]: each row's capacitance; ``row_volt_sq`` [rows]: its
    squared drive voltage (mean over the reads, for C V^2); ``sense_currents_sq``:
    sum over columns of I^2 (for the TIA feedback resistor, TIA sensing only).
    Returns ``energy_j`` per part and ``delay_s`` per stage, plus ``read_cycle_s``.
    """
    cv2 = float(np.sum(np.asarray(row_farad) * np.asarray(row_volt_sq)))
    energy = {
        "dac": rows * p.dac_conversion_j(),
        "row_charge_cv2": cv2,
        "tia": cols * p.tia_supply_volt * p.tia_bias_ampere * t_read_s + sense_currents_sq * tia_feedback_ohm * t_read_s,
        "adc": cols * p.adc_conversion_j(),
    }
    delay = {
        "dac": 1.0 / p.dac_sample_rate_hz,
        "read": t_read_s,
        "tia_settle": p.tia_settle_s(),
        "adc": math.ceil(cols / p.columns_per_adc) / p.adc_sample_rate_hz if cols else 0.0,
    }
    return {"energy_j": energy, "delay_s": delay, "read_cycle_s": sum(delay.values()) - delay["tia_settle"]}


def describe(p: Periphery) -> dict:
    """The parameters in use, for reports and results.json."""
    return asdict(p)
