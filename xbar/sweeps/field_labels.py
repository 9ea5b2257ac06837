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


#: What the experiments' other parameters mean (the plotted ones are described by :data:`LABELS`).
PARAMETERS: dict[str, str] = {
    "dataset": "dataset name: digits (bundled), mnist, fashion",
    "seed": "seed of the training, the random states and inputs",
    "variation_seed": "seed of the arrays' variation and faults",
    "backend": "solver: native, ngspice, pyspice or ideal",
    "batch": "input vectors per array",
    "trials": "variation draws of the same array",
    "hidden": "hidden units of the paper's MLP",
    "epochs": "training epochs",
    "n_test": "test images used (None: all)",
    "data_dir": "folder of the IDX datasets",
    "cache_dir": "folder of xbar's caches",
    "progress": "show progress bars",
    "scheme": "weight mapping: differential column pairs or a reference column",
    "calibration_images": "training images for the digital gain/offset calibration (0: off)",
    "correlated_scale": "multiple of the typical correlated RA/TMR spreads",
    "device_file": "device TOML file replacing the library device",
    "device_sha256": "sha256 the device file must have (set by xbar sweep --device)",
    "device": "a parsed device file (set by the paper reproduction)",
    "v_half_volt": "junction TMR bias half-point V_h (V); None: linear",
    "method": "quantization: full, paper, differential or uniform",
    "bits": "bits of the uniform quantizer",
    "rule": "per-layer scale rule: mse or max",
    "bias": "bias treatment: row or float",
    "driver_ohm": "row driver resistance (ohm)",
    "sense": "sense mode: tia (virtual ground) or resistor",
    "mitigation": "mitigations: a comma list of compensate[=K], aware, disconnect, operating-point, or none",
    "program": "also program every device (write energy and yield)",
    "access": "a read transistor in series with every device (the built-in NMOS), true or false",
    "temperature_c": "operating temperature (C); None: the devices' 27 C values, no temperature model",
    "variation": "multiple of the typical correlated variation (0: none)",
}


def describe(field: str) -> str:
    """What parameter ``field`` means, with its unit (empty when the tables do not say)."""
    if field not in LABELS:
        return PARAMETERS.get(field, "")
    label, factor = LABELS[field]
    return label.replace("(%)", "(a fraction; figures show %)") if factor == 100.0 else label


def axis(field: str) -> tuple[str, float]:
    """(label, factor) of ``field``: its label with unit and the factor that turns stored into shown values."""
    return LABELS.get(field, (field, 1.0))
