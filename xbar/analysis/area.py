"""Silicon area of a tile: the array from the paper's device geometry, the periphery from cited survey figures.

Array: each compound device occupies its write channel's footprint, channel length x channel width
(paper, section A: a 0.9 um wide Pt/Ta channel, 0.9 um long for 1 cell and 3.25 um for 3;
:func:`xbar.array.capacitance.device_length_m` interpolates in between), the pitch the circuit's wire
segments and capacitances already use. Access transistors, when a cell has them, sit under the
channel's contacts and add no footprint in this model (an assumption).

Periphery (*models*, labelled so in every report, each value overridable): per column a TIA, per row a
DAC and driver, one ADC per ``columns_per_adc`` columns (:class:`~xbar.analysis.periphery.Periphery`).

* ADC: 3,000 um^2 at 8 bits, doubling per added bit (a capacitive SAR's DAC dominates). Typical of
  the 6-10-bit SAR ADCs in 28-65 nm of B. Murmann's ADC Performance Survey (1997-2024), whose
  designs span about 0.001-0.01 mm^2; assumed, within that span.
* TIA: 500 um^2 per column (assumed: a compact op-amp with its feedback resistor; the same order as
  the current-sense amplifiers of NeuroSim's periphery, X. Peng et al., IEEE TCAD 40(11), 2021).
* Row DAC and driver: 300 um^2 per row (assumed, same source of order of magnitude).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from xbar.array.capacitance import CHANNEL_WIDTH_M, MTJ_AXES_M, device_length_m
from xbar.util.errors import ParameterError
from xbar.util.validate import real

@dataclass(frozen=True)
class AreaModel:
    """Periphery areas in m^2 (sources in the module docstring); every one can be overridden."""

    adc_8bit_m2: float = 3000e-12       # 8-bit SAR ADC, assumed (Murmann's ADC data span 0.001-0.01 mm^2)
    adc_doubling_per_bit: float = 2.0   # capacitive-DAC area doubles per bit (assumed)
    tia_m2: float = 500e-12             # per column, assumed (the order of NeuroSim's sense amplifiers)
    dac_driver_m2: float = 300e-12      # per row, assumed (the same order of magnitude)

    def __post_init__(self):
        for name in ("adc_8bit_m2", "tia_m2", "dac_driver_m2"):
            object.__setattr__(self, name, real(name, getattr(self, name), low=0.0, unit="m^2"))
        object.__setattr__(self, "adc_doubling_per_bit",
                           real("adc_doubling_per_bit", self.adc_doubling_per_bit, low=1.0, high=4.0))

    def adc_m2(self, bits: int) -> float:
        """One ADC of ``bits`` bits, m^2."""
        if int(bits) != bits or bits < 1:
            raise ParameterError(f"ADC bits must be a positive integer, got {bits!r}")
        return self.adc_8bit_m2 * self.adc_doubling_per_bit ** (bits - 8)


def mtj_area_m2() -> float:
    """One MTJ ellipse, m^2 (paper: 250 x 500 nm^2, pi/4 a b = 0.0982 um^2)."""
    a, b = MTJ_AXES_M
    return math.pi / 4 * a * b


def device_area_m2(n_cells: int) -> float:
    """One compound device's footprint, m^2: its channel, length x width (0.81 um^2 for 1 cell, 2.925 for 3)."""
    return device_length_m(n_cells) * CHANNEL_WIDTH_M


def tile_area(rows: int, cols: int, n_cells: int, adc_bits: int, columns_per_adc: int,
              model: AreaModel | None = None) -> dict:
    """Area of one rows x cols tile in m^2: ``array`` (exact geometry) and each periphery part (models)."""
    m = model or AreaModel()
    adcs = math.ceil(cols / columns_per_adc)
    parts = {"array": rows * cols * device_area_m2(n_cells), "tia": cols * m.tia_m2,
             "dac_driver": rows * m.dac_driver_m2, "adc": adcs * m.adc_m2(adc_bits)}
    return dict(parts_m2=parts, total_m2=sum(parts.values()), adcs=adcs)


def describe(model: AreaModel) -> dict:
    """The area parameters in use, for reports and results.json."""
    return asdict(model)
