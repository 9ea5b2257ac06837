"""Axis labels with units for the fields of sweep records and reports.

Records keep SI values and fractions (``accuracy_analog`` = 0.9426); figures show
a reader's label and unit, and fractions as percentages. :func:`axis` gives both
for one field; fields not in the table keep their own name and scale.
"""

from __future__ import annotations

#: Field -> (label with unit, factor from the stored value to the shown one).
LABELS: dict[str, tuple[str, float]] = {
    "wire_ohm": ("wire resistance per segment (ohm)", 1.0),
    "driver_ohm": ("row driver resistance (ohm)", 1.0),
    "ref_ohm": ("reference resistor (ohm)", 1.0),
    "cells": ("MTJ cells per device", 1.0),
    "n_cells": ("MTJ cells per device", 1.0),
    "thickness_nm": ("free-layer thickness (nm)", 1.0),
    "tmr": ("TMR (%)", 100.0),
    "sigma": ("device-to-device variation (sigma of ln R)", 1.0),
    "fault_rate": ("faulty cells (%)", 100.0),
    "v_read": ("read voltage V_read (V)", 1.0),
    "tile": ("tile size (devices per side)", 1.0),
    "adc_bits": ("ADC resolution (bits)", 1.0),
    "rows": ("rows", 1.0),
    "cols": ("columns", 1.0),
    "accuracy": ("test accuracy (%)", 100.0),
    "accuracy_analog": ("analog accuracy (%)", 100.0),
    "accuracy_ideal_quantized": ("ideal quantized accuracy (%)", 100.0),
    "accuracy_paper_quantized": ("paper-method quantized accuracy (%)", 100.0),
    "accuracy_full_precision": ("full-precision accuracy (%)", 100.0),
    "top1_agreement": ("top-1 agreement, analog vs ideal (%)", 100.0),
    "rms_rel": ("RMS current error (% of RMS ideal)", 100.0),
    "worst_rel": ("worst current error (% of largest ideal)", 100.0),
    "rms_rel_mean": ("mean RMS current error (% of RMS nominal)", 100.0),
    "worst_rel_mean": ("mean worst current error (% of largest nominal)", 100.0),
    "mean_ratio": ("mean analog / ideal current", 1.0),
    "worst_ir_rel": ("worst IR drop (% of V_read)", 100.0),
    "mean_ir_rel": ("mean IR drop (% of V_read)", 100.0),
}


def axis(field: str) -> tuple[str, float]:
    """(label, factor) of ``field``: its label with unit and the factor that turns stored into shown values."""
    return LABELS.get(field, (field, 1.0))
