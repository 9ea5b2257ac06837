"""The Markdown report of an ``xbar infer`` run: settings, accuracies, per-layer errors, IR drop,
read disturb, how SPICE and non-linear junctions were solved, and the studies."""

from __future__ import annotations

from pathlib import Path

from xbar import __version__
from xbar.experiments import provenance, readout


def spice_lines(spice: dict | None) -> list[str]:
    """Report lines saying what SPICE solved the base run and how it agrees with the native solver."""
    if not spice:
        return []
    return [f"Solved by {spice['backend']} on {spice['ngspice']} (KLU compiled in: "
            f"{'yes' if spice['klu_compiled'] else 'no'}, used: {'yes' if spice['klu_used'] else 'no'}) in "
            f"{spice['tile_solves']} tile solves"
            f"{' (devices condensed to their exact DC equivalents)' if spice.get('devices') == 'condensed' else ''}"
            f"; largest Kirchhoff residual {spice['kcl_residual']:.1e}. "
            f"Against the native solver: logits differ by at most {spice['logits_max_rel_to_native']:.2e} "
            f"of the largest logit, predictions agree on {100 * spice['prediction_agreement_with_native']:.2f} %.",
            ""]


def junction_solver_line(js: dict) -> str:
    """One line on how non-linear junctions were solved (method, tolerance, work, vectors left to Newton)."""
    head = f"non-linear junctions (V_h {js['v_half_volt']:g} V): {js['tile_solves']} tile solves"
    if js["method"] != "chord":
        return f"{head} by Newton's method to {js['tol']:g} relative"
    return (f"{head} by the chord iteration to {js['tol']:g} relative, {js['back_substitutions_per_vector']:.2f} "
            f"back-substitutions per vector, {js['newton_vectors']} vectors finished by Newton")


def _read_disturb_lines(base: dict) -> list[str]:
    """Report section: the worst device's channel current density and read-disturb probability."""
    rd = base.get("read_disturb")
    if not rd:
        return []
    return ["", "## Read disturb (read current through the SOT write channel)", "",
            "The worst device current of the first test inputs, taken to flow under every cell of its "
            "device in the switching direction (conservative), over the channel cross-section "
            "(0.9 um x Ta 4 nm / Pt 10 nm, the paper); thermal activation "
            "P = 1 - exp(-(t/tau0) exp(-Delta (1 - J/J_c0))) with J_c0 from the fitted zero-field critical "
            "current (xbar.device.switching) and assumed tau0, Delta and read time (xbar.analysis.read_disturb).", "",
            "| worst device current (uA) | J (A/cm^2) | J_c0 (A/cm^2) | J/J_c0 | Delta | read time (ns) "
            "| P(switch) per read |", "|---|---|---|---|---|---|---|",
            f"| {1e6 * rd['worst_current_a']:.3f} | {1e-4 * rd['worst_j_a_per_m2']:.3e} "
            f"| {1e-4 * rd['j_c0_a_per_m2']:.3e} | {rd['j_over_jc0']:.2e} | {rd['delta']:.1f} "
            f"| {1e9 * rd['read_s']:g} | {rd['probability_per_read']:.2e} |"]


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.2f}"


#: Report label and formatter of each CircuitSpec field (None means the field's documented default).
_SETTINGS = {
    "n_cells": ("MTJ cells per compound device", lambda v: f"{v}"),
    "thickness_nm": ("free-layer thickness", lambda v: f"{v:g} nm"),
    "channel_ohm": ("write-channel resistance", lambda v: "150 + 150 n ohm (device model)" if v is None
                    else f"{v:g} ohm"),
    "wire_ohm": ("wire resistance per segment (rows and columns)", lambda v: f"{v:g} ohm"),
    "driver_ohm": ("row driver resistance", lambda v: f"{v:g} ohm" if v else "0 (ideal)"),
    "access_ohm": ("access resistance per device", lambda v: f"{v:g} ohm" if v else "0 (ideal)"),
    "sense": ("sensing", lambda v: {"tia": "virtual ground (ideal TIA)",
                                    "resistor": "reference resistor to ground"}.get(v, v)),
    "ref_ohm": ("reference resistor (resistor sensing)", lambda v: f"{v:g} ohm"),
    "sigma": ("device-to-device variation sigma of ln R", lambda v: f"{v:g}" if v else "0 (none)"),
    "variation_seed": ("variation seed", lambda v: f"{v}"),
    "device_ra_sigma": ("correlated variation: device RA sigma of ln", lambda v: f"{v:g}"),
    "cell_ra_sigma": ("correlated variation: cell RA sigma of ln", lambda v: f"{v:g}"),
    "device_tmr_sigma": ("correlated variation: device TMR sigma of ln", lambda v: f"{v:g}"),
    "cell_tmr_sigma": ("correlated variation: cell TMR sigma of ln", lambda v: f"{v:g}"),
    "fault_rate": ("faulty cells", lambda v: f"{100 * v:g} %" if v else "0 (none)"),
    "fault_kind": ("fault kinds", lambda v: "stuck-P, stuck-AP, open and short, evenly" if v == "all"
                   else str(v).replace("_", "-")),
    "tile_rows": ("tile rows", lambda v: "untiled" if v is None else f"{v}"),
    "tile_cols": ("tile columns", lambda v: "untiled" if v is None else f"{v}"),
    "v_read": ("read voltage V_read (full-scale input)", lambda v: f"{v:g} V"),
    "adc_bits": ("ADC", lambda v: "off (exact currents)" if v is None else f"{v} bits"),
    "adc_full_scale_a": ("ADC full scale", lambda v: "each tile's largest possible column current" if v is None
                         else f"{v:g} A"),
    "scheme": ("weight mapping", lambda v: {"differential": "differential column pairs",
                                            "reference": "reference columns"}.get(v, v)),
    "rule": ("per-layer scale rule", lambda v: f"{v}"),
    "calibration_images": ("digital calibration", lambda v: f"gain and offset on {v} training images" if v
                           else "off"),
}


def _settings_rows(base: dict) -> list[str]:
    spec, dev = base["spec"], base["device"]
    unused = {"adc_full_scale_a"} if spec["adc_bits"] is None else set()
    unused |= {"ref_ohm"} if spec["sense"] == "tia" else set()
    correlated = ("device_ra_sigma", "cell_ra_sigma", "device_tmr_sigma", "cell_tmr_sigma")
    unused |= set(correlated) if not any(spec.get(k) for k in correlated) else set()
    unused |= {"variation_seed"} if not (spec["sigma"] or any(spec.get(k) for k in correlated)) else set()
    unused |= {"fault_kind"} if not spec.get("fault_rate") else set()
    rows = [f"| {_SETTINGS[k][0]} | {_SETTINGS[k][1](v)} |" if k in _SETTINGS else f"| {k} | {v} |"
            for k, v in spec.items() if k not in unused and (k in _SETTINGS or v is not None)]
    if "adc_full_scale_a" in base:
        fs = base["adc_full_scale_a"]
        rows.append(f"| ADC full scale used | {1e6 * fs['min']:.4g} .. {1e6 * fs['max']:.4g} uA over the tiles |")
    return [f"| R_P | {dev['r_p_ohm'] / 1e3:.4g} kohm |", f"| R_AP | {dev['r_ap_ohm'] / 1e3:.4g} kohm |",
            f"| TMR | {100 * dev['tmr']:.1f} % |",
            f"| write channel | {dev['channel_ohm']:g} ohm ({dev['n_cells']} cells) |",
            *([f"| device states (cells differ; R_P, R_AP, TMR above are their mean) | "
               + ", ".join(f"{r / 1e3:.4g}" for r in dev["state_ohm"]) + " kohm |"] if dev.get("cells_differ") else []),
            *rows]


def report_markdown(base: dict, rows: list[dict], figures: list[Path], info: dict | None = None,
                    seed_runs: dict | None = None) -> str:
    """The comparison report: run facts, configuration with device values, per-layer errors, IR drop, studies."""
    spec = base["spec"]
    info = info or {}
    lines = [
        f"# xbar analog inference: {base['dataset']}",
        "",
        f"Network: {base.get('model', 'the paper MLP')}. "
        f"{base['n_test']} test images through compound SOT-MTJ crossbars, solved exactly "
        f"({base['backend']}), against ideal quantized inference on the same conductances.",
        "",
        f"xbar {info.get('version', __version__)}"
        + (f", run {info['date']}" if "date" in info else "")
        + (f", {info['seconds']:g} s in all (base run {info['base_seconds']:g} s)" if "seconds" in info else "")
        + ".",
        "",
        *spice_lines(base.get("spice")),
        "## Configuration",
        "",
        "| parameter | value |", "|---|---|",
        *_settings_rows(base),
        "",
        "## Accuracy (%)",
        "",
        "| full precision | paper-method quantized | ideal quantized | analog | top-1 agreement analog vs ideal |",
        "|---|---|---|---|---|",
        f"| {_pct(base['accuracy_full_precision'])} | {_pct(base['accuracy_paper_quantized'])} "
        f"| {_pct(base['accuracy_ideal_quantized'])} | {_pct(base['accuracy_analog'])} | {_pct(base['top1_agreement'])} |",
        "",
        *seed_lines(seed_runs),
        *([design_line(base.get("design")) + ".", ""] if base.get("design") else []),
        *[f"Note: {line}" for line in caveats(base)],
        "",
        "The paper-method column quantizes to the paper's +/-G_k/G_max levels and is context only; the",
        "ideal-quantized column holds exactly the conductances of the arrays (differential pairs), so",
        "analog vs ideal isolates the circuit's effect.",
        "",
        "## Per-layer output error (analog vs ideal on the same inputs)",
        "",
        "Worst: the largest |analog - ideal| over all outputs and images, divided by the largest |ideal output|.",
        "RMS: the root-mean-square of analog - ideal, divided by the RMS of the ideal outputs.",
        "",
        "| layer | worst error (of largest output) | RMS error (of RMS output) |", "|---|---|---|",
        *[f"| {e['layer']} | {e['worst_rel']:.3e} | {e['rms_rel']:.3e} |" for e in base["layers"]],
        "",
        "## IR drop by tile (voltage lost before each MTJ cell, first test inputs)",
        "",
        f"Loss = |V_row - V_cell| over every cell; percentages are of V_read = {spec['v_read']:g} V.",
        "",
        "| layer | tile | worst (mV) | mean (mV) | worst (% of V_read) | mean (% of V_read) |",
        "|---|---|---|---|---|---|",
        *[f"| {s['layer']} | {tuple(s['tile'])} | {1e3 * s['worst_v']:.3f} | {1e3 * s['mean_v']:.3f} "
          f"| {100 * s['worst_rel']:.2f} | {100 * s['mean_rel']:.2f} |" for s in base["ir_drop"]],
        *_read_disturb_lines(base),
        *(["", junction_solver_line(base["junction_solver"]) + "."] if base.get("junction_solver") else []),
    ]
    if rows:
        lines += ["", "## Studies (one parameter varied from the base)", "",
                  "| study | point | ideal quantized (%) | analog (%) | agreement (%) | layer RMS rel. err. "
                  "| worst IR drop (% V_read) | mean IR drop (% V_read) |", "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            rms = ", ".join(f"{e['rms_rel']:.2e}" for e in r["layers"])
            lines.append(f"| {r['study']} | {r['label']} | {_pct(r['accuracy_ideal_quantized'])} "
                         f"| {_pct(r['accuracy_analog'])} | {_pct(r['top1_agreement'])} | {rms} "
                         f"| {100 * r['worst_ir_rel']:.2f} | {100 * r['mean_ir_rel']:.2f} |")
        lines += ["", *[f"Note: {line}" for line in study_caveats(rows)]]
        above = [r for r in rows if r["accuracy_analog"] > r["accuracy_ideal_quantized"]]
        if above:
            lines += ["", "Where the analog accuracy exceeds the ideal quantized one, the analog outputs differ "
                      "from the ideal ones by a smooth, mostly common-mode attenuation; on a finite test set "
                      "this shifts a few borderline decisions either way. The top-1 agreement column shows how "
                      f"many decisions moved. Points: {', '.join(r['label'] for r in above)}."]
    lines += mitigation_markdown(base, rows)
    if "energy" in base:
        lines += ["", *readout.energy_markdown(base["energy"], base["energy"].get("tradeoff"))]
    lines += ["", "## Figures", "", *[f"![{p.stem}]({p.name})" for p in figures if p.suffix == ".png"]]
    if "rerun" in info:
        lines += ["", *provenance.markdown(info["rerun"])]
    return "\n".join(lines) + "\n"


def seed_lines(seed_runs: dict | None) -> list[str]:
    """Mean, spread and range of each accuracy over the seeds of ``xbar infer --seeds N`` (none for one seed)."""
    if not seed_runs:
        return []
    n = len(seed_runs["runs"])
    names = dict(accuracy_ideal_quantized="ideal quantized", accuracy_analog="analog", top1_agreement="agreement",
                 accuracy_full_precision="full precision")
    return [f"Over {n} seeds ({', '.join(str(r['seed']) for r in seed_runs['runs'])}; each a new network and a "
            "new draw of the arrays), mean +/- standard deviation (min..max): "
            + "; ".join(f"{names[k]} {100 * v['mean']:.2f} +/- {100 * v['std']:.2f} % "
                        f"({100 * v['min']:.2f}..{100 * v['max']:.2f})"
                        for k, v in seed_runs["stats"].items() if k in names) + ".", ""]


def caveats(base: dict) -> list[str]:
    """One explanatory line for each result of ``base`` that looks alarming but is what the physics says."""
    spec, dev = base["spec"], base["device"]
    out = []
    if spec.get("sense") == "resistor":
        rows = spec.get("tile_rows") or dev.get("rows") or 128
        column_ohm = dev["r_p_ohm"] / dev["n_cells"] / rows
        if spec["ref_ohm"] > 10 * column_ohm:
            out.append(f"resistor sensing through {spec['ref_ohm']:g} ohm: a column of ~{rows} devices in parallel "
                       f"is ~{column_ohm:.3g} ohm, far below the reference, so every column reads nearly V_read "
                       "and the weights ride on small differences between nearly equal voltages; a virtual-ground "
                       "TIA (--sense tia) or a reference near the column's resistance reads them directly.")
    if spec.get("fault_rate"):
        from xbar.device.faults import SHORT_OHM
        out.append(f"faulty cells ({100 * spec['fault_rate']:g} %): the shorts among them dominate. A shorted junction "
                   f"({SHORT_OHM:g} ohm) conducts ~{dev['r_p_ohm'] / SHORT_OHM:.0f}x a P cell, so one short swamps "
                   "its whole column; opens and stuck cells cost far less (--study faults separates the kinds).")
    return out


def study_caveats(rows: list[dict]) -> list[str]:
    """One explanatory line for each study whose alarming points are what the physics says."""
    studies = {r["study"] for r in rows}
    out = []
    if "sense" in studies:
        out.append("sense: with a large reference resistor every column reads nearly V_read (a column of devices "
                   "in parallel is far below the reference), so the weights ride on small differences between "
                   "nearly equal voltages; that, not a solver problem, is why accuracy falls with the reference.")
    if "faults" in studies:
        out.append("faults: shorted junctions dominate: one short conducts tens of times a P cell and swamps its "
                   "column, while opens and stuck cells cost little (compare the per-kind rows).")
    return out


def mitigation_cost(cost: dict | None) -> str:
    """What a mitigation cost, in a few words (empty for none)."""
    if not cost:
        return ""
    parts = []
    if cost["tile_factorizations"]:
        parts.append(f"{cost['tile_factorizations']} exact tile matrices offline ({cost['seconds']:g} s)")
    if cost["characterization_reads"]:
        parts.append(f"characterizing every device: {cost['characterization_writes']} writes and "
                     f"{cost['characterization_reads']} verify reads")
    if cost["disable_bits"]:
        parts.append(f"one disable bit per device ({cost['disable_bits']}), {cost['devices_disconnected']} devices "
                     f"switched off ({cost.get('shorted_devices', 0)} shorted)")
    parts.append(f"{cost['states_changed']} of {cost['devices']} device states changed")
    return "; ".join(parts)


def mitigation_markdown(base: dict, rows: list[dict]) -> list[str]:
    """The mitigations section: each point's accuracy, what it recovered against no mitigation, and its cost."""
    own = [r for r in rows if r["study"] == "mitigation"]
    lines = []
    if base.get("mitigation"):
        lines += ["", f"Mitigation of the base run ({base['spec']['mitigation']}): "
                  f"{mitigation_cost(base['mitigation'])}."]
    if not own:
        return lines
    plain = next((r for r in own if r["label"] == "none"), own[0])
    lines += ["", "## Mitigations (states chosen against the arrays as they are)", "",
              "Recovered: analog accuracy gained against the same circuits without mitigation. Calibration is a "
              "digital gain and offset per output fitted on training images (cost: those images and 2 numbers "
              "per output).", "",
              "| mitigation | analog (%) | recovered (points) | gap to ideal quantized (points) | cost |",
              "|---|---|---|---|---|"]
    for r in own:
        cost = mitigation_cost(r.get("mitigation")) or ("–" if "calibration" not in r["label"] else "")
        if "calibration" in r["label"]:
            cost = (cost + "; " if cost and cost != "–" else "") + "256 calibration images"
        lines.append(f"| {r['label']} | {_pct(r['accuracy_analog'])} "
                     f"| {100 * (r['accuracy_analog'] - plain['accuracy_analog']):+.2f} "
                     f"| {100 * (r['accuracy_ideal_quantized'] - r['accuracy_analog']):.2f} | {cost} |")
    return lines


def design_line(design: dict | None) -> str:
    """Energy, latency and area per inference in one sentence (exact parts and models named)."""
    if not design:
        return ""
    e, a = design["energy_j_per_image"], design["area_m2"]
    basis = "exact DC" if e.get("array_dc_basis", "exact") == "exact" else "DC, zero-bias linearization,"
    array = ("array read energy: not computed" if e["array_dc"] is None
             else f"array read energy {1e12 * e['array_dc']:.4g} pJ ({basis} over the {1e9 * design['read_pulse_s']:g} ns pulse)")
    return (f"per inference: {array}, periphery {1e12 * e['periphery']:.4g} pJ (model); latency "
            f"{1e9 * design['latency_s']:.4g} ns (model); area {1e6 * a['total']:.4g} mm^2 (array "
            f"{1e6 * a['parts']['array']:.4g} mm^2 from the paper's geometry, periphery models the rest)")
