"""The studies of ``xbar infer``: each varies one parameter of the base circuit spec.

Light on purpose (no numpy, no solvers), so the command line can list the
studies in ``--help`` and count their points without importing the heavy
modules. :func:`study_specs` works on any dataclass shaped like
:class:`~xbar.network.circuit_spec.CircuitSpec`.
"""

from __future__ import annotations

import dataclasses

#: Wire resistances per segment (ohm) of the wire-resistance study.
WIRE_OHMS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)

#: Study name -> its number of points and what it varies, in the order reports list them.
STUDIES = {
    "wire": "18 points: wire resistance 0..10 ohm/segment for 1, 2 and 3 cells",
    "calibration": "6 points: digital gain/offset calibration on 256 training images, 3 cells, 0..10 ohm wires",
    "tile": "5 points: tile size 32, 64, 128, 256 and untiled",
    "sense": "5 points: virtual-ground TIA and reference resistors 100 ohm..1 Mohm",
    "cells": "6 points: 1..6 cells per device",
    "thickness": "4 points: free-layer thickness 1.6, 1.9, 2.2, 2.6 nm",
    "adc": "5 points: 4..12-bit ADC",
    "variation": "5 points: device-to-device variation sigma 0..0.2",
}
#: Opt-in studies, run only when named (``--study faults``): not part of ``all``.
EXTRA_STUDIES = {
    "faults": "9 points: faulty-cell rate 0..5 %, and 1 % of each fault kind",
    "correlated": "4 points: typical correlated RA/TMR spread x 0..4",
    "energy": "per-image array energy (exact), periphery, noise and settling of the base run (minutes on MNIST)",
    "readout": "15 points: accuracy with read noise, energy and TOPS/W against V_read 2 mV..0.2 V and "
               "t_read 10..100 ns (a grid on the base run)",
    "nonlinear": "15 points: bias-dependent TMR, V_read 0.05..0.5 V for linear junctions and V_h 0.5, 0.3 V",
    "mitigation": "8 points: the base with each mitigation (IR-drop compensation, device-aware states, "
                  "disconnected shorts, operating-point levels) and with calibration",
    "temperature": "5 points: -40, 0, 27, 85 and 125 C (wires, TMR, R_P, access transistor, read disturb)",
}
#: Fault rates (fraction of cells, split evenly over stuck-P, stuck-AP, open, short) of the faults study.
FAULT_RATES = (0.0, 0.005, 0.01, 0.02, 0.05)
#: Read voltages (V) and TMR bias half-points V_h (V; None = linear) of the non-linear study.
NONLINEAR_V_READS = (0.05, 0.1, 0.2, 0.3, 0.5)
NONLINEAR_V_HALFS = (None, 0.5, 0.3)
#: (label, mitigation, calibration images) of the mitigation study: each mitigation alone, then combined.
MITIGATIONS = (("none", "none", 0), ("calibration (256 images)", "none", 256),
               ("compensate (3 iterations)", "compensate=3", 0),
               ("compensate + calibration", "compensate=3", 256), ("device-aware states", "aware", 0),
               ("disconnect shorts", "disconnect", 0), ("aware + disconnect + compensate", "compensate=3,aware,disconnect", 0),
               ("all + calibration", "compensate=3,aware,disconnect,operating-point", 256))
#: Temperatures (C) of the temperature study: automotive grade 1, -40..125 C, and SPICE's nominal 27 C.
TEMPERATURES_C = (-40.0, 0.0, 27.0, 85.0, 125.0)
#: Multiples of the typical correlated spreads (:meth:`xbar.device.variation.Variation.typical`) of that study.
CORRELATED_SCALES = (0.0, 1.0, 2.0, 4.0)


def study_specs(base, studies=tuple(STUDIES)) -> list[tuple[str, str, object]]:
    """(study, label, spec) for each point of ``studies``, varying one parameter of ``base`` at a time."""
    rep = dataclasses.replace
    points = []
    if getattr(base, "device_file", None) is not None:  # the file fixes the device: no cell or thickness axes
        studies = [s for s in studies if s not in ("cells", "thickness", "calibration")]
        if "wire" in studies:
            points += [("wire", f"{base.n_cells} cells, {w:g} ohm", rep(base, wire_ohm=w)) for w in WIRE_OHMS]
        studies = [s for s in studies if s != "wire"]
    if "wire" in studies:
        points += [("wire", f"{c} cells, {w:g} ohm", rep(base, n_cells=c, wire_ohm=w))
                   for c in (1, 2, 3) for w in WIRE_OHMS]
    if "tile" in studies:
        points += [("tile", "untiled" if t is None else f"{t}x{t}", rep(base, tile_rows=t, tile_cols=t))
                   for t in (32, 64, 128, 256, None)]
    if "sense" in studies:
        points += [("sense", "TIA (virtual ground)", rep(base, sense="tia"))]
        points += [("sense", f"resistor {r:g} ohm", rep(base, sense="resistor", ref_ohm=r))
                   for r in (100.0, 1e3, 1e4, 1e6)]
    if "cells" in studies:
        points += [("cells", f"{c} cells", rep(base, n_cells=c)) for c in (1, 2, 3, 4, 5, 6)]
    if "thickness" in studies:
        points += [("thickness", f"{t:.1f} nm", rep(base, thickness_nm=t)) for t in (1.6, 1.9, 2.2, 2.6)]
    if "calibration" in studies:
        points += [("calibration", f"3 cells, {w:g} ohm, calibrated on 256 images",
                    rep(base, n_cells=3, wire_ohm=w, calibration_images=256)) for w in WIRE_OHMS]
    if "adc" in studies:
        points += [("adc", f"{b}-bit ADC", rep(base, adc_bits=b)) for b in (4, 6, 8, 10, 12)]
    if "variation" in studies:
        points += [("variation", f"sigma {s:g}", rep(base, sigma=s)) for s in (0.0, 0.02, 0.05, 0.1, 0.2)]
    if "faults" in studies:
        from xbar.device.faults import FAULT_KINDS
        points += [("faults", f"{100 * r:g} % faulty cells (all kinds)", rep(base, fault_rate=r))
                   for r in FAULT_RATES]
        points += [("faults", f"1 % {k.replace('_', '-')} cells", rep(base, fault_rate=0.01, fault_kind=k))
                   for k in FAULT_KINDS]
    if "correlated" in studies:
        from xbar.device.variation import Variation
        points += [("correlated", f"{k:g} x typical RA/TMR spread",
                    rep(base, **Variation.typical(scale=k).sigma_fields())) for k in CORRELATED_SCALES]
    if "nonlinear" in studies:
        points += [("nonlinear", f"V_read {v:g} V, " + ("linear" if vh is None else f"V_h {vh:g} V"),
                    rep(base, v_read=v, v_half_volt=vh)) for vh in NONLINEAR_V_HALFS for v in NONLINEAR_V_READS]
    if "mitigation" in studies:
        points += [("mitigation", label, rep(base, mitigation=m, calibration_images=n)) for label, m, n in MITIGATIONS]
    if "temperature" in studies:
        points += [("temperature", f"{t:g} C", rep(base, temperature_c=t)) for t in TEMPERATURES_C]
    return points


def parse_studies(values) -> tuple[str, ...]:
    """Study names from ``--study`` values (repeatable, each a name, a comma list, ``all`` or ``none``).

    ``all`` is every study of :data:`STUDIES`; those of :data:`EXTRA_STUDIES` run only when
    named. Returns them in that order without repeats; raises ValueError naming an unknown one.
    """
    names = set()
    for value in values or ():
        for name in filter(None, (v.strip().lower() for v in str(value).split(","))):
            if name == "all":
                names.update(STUDIES)
            elif name in STUDIES or name in EXTRA_STUDIES:
                names.add(name)
            elif name != "none":
                raise ValueError(f"unknown study {name!r}; choose from "
                                 f"{', '.join([*STUDIES, *EXTRA_STUDIES])} or all")
    return tuple(s for s in [*STUDIES, *EXTRA_STUDIES] if s in names)
