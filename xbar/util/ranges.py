"""One range table for every physical parameter: the CLI, device files and the Python API check against it.

Each :class:`Param` row names a parameter (units in the name, as in the dataclasses and
device files), its unit, its accepted range, its default, where the numbers come from,
and its command-line flag and help. The same row

* checks a Python value (:func:`check`; the dataclasses' ``__post_init__`` call it),
* checks a device-file key (:mod:`xbar.device.files`),
* converts and checks a command-line value (:meth:`Param.argtype`, :mod:`xbar.cli.common`
  builds the shared option groups from the rows' ``group``), and
* renders the documentation (:func:`markdown_table`),

so a value is refused with the same bounds wherever it enters. The bounds are physically
sensible ranges, generous by orders of magnitude: outside them a circuit is meaningless
or ill-conditioned (a state spread of ``sigma = 100`` scales resistances by e^300).
Adding a parameter is one row here, plus the line that reads it.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from xbar.util.errors import ParameterError

#: Option groups, in the order the command line lists them.
GROUPS = ("device", "variation", "faults", "periphery", "array", "physics")


@dataclass(frozen=True)
class Param:
    """One parameter: ``low``..``high`` (exclusive where ``*_open``), unit, default, source and CLI option.

    ``flag``: the command-line option (default ``--`` + the name with dashes; ``""``:
    none, e.g. keys only a device file has). ``label``: the name errors use (default
    ``name``). ``inf_ok``: +inf is a meaningful value (a linear junction's V_h).
    ``default`` None means derived from other parameters (the help says how).
    """

    name: str
    group: str
    unit: str
    low: float | None
    high: float | None
    default: object
    source: str
    help: str
    flag: str | None = None
    integer: bool = False
    low_open: bool = False
    high_open: bool = False
    label: str | None = None
    inf_ok: bool = False

    @property
    def cli_flag(self) -> str | None:
        """The command-line option, or None when the parameter has none."""
        if self.flag == "":
            return None
        return self.flag or "--" + self.name.replace("_", "-")

    def bounds_text(self) -> str:
        """The accepted range in words: ``a number in 0..1``, ``an integer in 1..24``, ``a number > 0 and <= 10``."""
        what = "an integer" if self.integer else "a number"
        lo, hi = (None if v is None else f"{int(v)}" if self.integer else f"{v:g}" for v in (self.low, self.high))
        if lo is not None and hi is not None and not (self.low_open or self.high_open or self.inf_ok):
            text = f"{what} in {lo}..{hi}"
        else:
            parts = []
            if lo is not None:
                parts.append(f"{'>' if self.low_open else '>='} {lo}")
            if hi is not None and not math.isinf(self.high):
                parts.append(f"{'<' if self.high_open else '<='} {hi}")
            text = f"{what} {' and '.join(parts)}" if parts else what
        if self.unit and self.unit not in ("1", "fraction"):
            text += f" {self.unit}"
        if self.inf_ok:
            text += " (or inf)"
        return text

    def _inside(self, x: float) -> bool:
        if math.isinf(x) and self.inf_ok and x > 0:
            return True
        if not math.isfinite(x):
            return False
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            return False
        return self.high is None or (x < self.high if self.high_open else x <= self.high)

    def check(self, value, label: str | None = None):
        """``value`` as a float (int for integer rows) within the range, else one ParameterError line."""
        from xbar.util.validate import integer as _integer  # imports numpy: not at the CLI's start
        from xbar.util.validate import real as _real
        name = label or self.label or self.name
        if self.integer:
            n = _integer(name, value)
            if not self._inside(n):
                raise ParameterError(f"{name} must be {self.bounds_text()}, got {value!r}")
            return n
        if self.inf_ok and isinstance(value, (int, float)) and not isinstance(value, bool) and value == math.inf:
            return math.inf
        try:
            x = _real(name, value)
        except ParameterError:
            raise ParameterError(f"{name} must be {self.bounds_text()}, got {value!r}") from None
        if not self._inside(x):
            raise ParameterError(f"{name} must be {self.bounds_text()}, got {value!r}")
        return x

    def parse(self, text: str):
        """A command-line string as a checked value (raises ParameterError)."""
        try:
            value = int(text) if self.integer and text.strip().lstrip("+-").isdigit() else float(text)
        except ValueError:
            raise ParameterError(f"expected {'an integer' if self.integer else 'a number'}, got {text!r}") \
                from None
        if self.integer and isinstance(value, float):
            if not (math.isfinite(value) and value == int(value)):
                raise ParameterError(f"expected an integer, got {text!r}")
            value = int(value)
        if isinstance(value, float) and math.isnan(value):
            raise ParameterError(f"must be {self.bounds_text()}, got {text!r}")
        try:
            return self.check(value)
        except ParameterError:
            raise ParameterError(f"must be {self.bounds_text()}, got {text!r}") from None

    def argtype(self):
        """An argparse ``type=`` converter for this row (argparse adds ``argument --FLAG:`` to its error)."""
        def convert(text: str):
            try:
                return self.parse(text)
            except ParameterError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None
        convert.__name__ = "integer" if self.integer else "number"
        return convert

    def cli_help(self) -> str:
        """The option's help: what it is, its range and default."""
        default = "" if self.default is None else f"; default {self.default:g}" \
            if isinstance(self.default, (int, float)) else f"; default {self.default}"
        return f"{self.help} ({self.bounds_text()}{default})".replace("%", "%%")


def _p(name, group, unit, low, high, default, source, help, **kw) -> Param:
    return Param(name, group, unit, low, high, default, source, help, **kw)


_LN = "1"
_TYPICAL = "assumed (xbar.device.variation: typical MTJ spreads)"
_PERIPHERY = "xbar.analysis.periphery"

#: Every physical parameter, by name. The rows of a ``group`` form that command-line option group.
PARAMS: dict[str, Param] = {p.name: p for p in [
    # --- device ----------------------------------------------------------------------------
    _p("thickness_nm", "device", "nm", 1.6, 2.6, 1.9, "paper Fig. 3f (the library's range)",
       "free-layer thickness of the paper's library device", flag="--thickness", label="free-layer thickness"),
    _p("n_cells", "device", "1", 1, 6, 3, "paper Fig. 5d/e (1-6 cells)", "MTJ cells per compound device",
       flag="--cells", integer=True),
    _p("r_p_ohm", "device", "ohm", 0.1, 1e10, None, "assumed (generous; library 22-37 kohm, paper Fig. 3f; "
       "a measured-state device's equivalent cells reach 6x its highest state)",
       "custom parallel resistance R_P of a cell (with --tmr; default from --thickness)", flag="--r-p",
       label="R_P"),
    _p("r_ap_ohm", "device", "ohm", 0.1, 1e13, None, "assumed (R_P's bound x (1 + the largest TMR))",
       "antiparallel resistance R_AP of a cell",
       flag="", label="R_AP"),
    _p("tmr_percent", "device", "%", 0.0, 1e4, None, "assumed (paper: 34-78 %, Fig. 3f)",
       "custom zero-bias TMR in percent (with --r-p)", flag="--tmr", label="TMR"),
    _p("channel_ohm", "device", "ohm", 0.0, 1e9, None, "paper section D: 300 ohm (1 cell), 600 ohm (3 cells)",
       "whole write-channel resistance (default 150 + 150 n ohm; 0: ideal)"),
    _p("v_half_volt", "device", "V", 0.01, math.inf, math.inf,
       "Zhang et al., IEEE TED 59, 819 (2012): 0.5 V; MgO junctions 0.2-1 V",
       "bias-dependent TMR: the voltage V_h at which a junction's TMR halves, TMR(V) = TMR0 / (1 + (V/V_h)^2); "
       "0.3-0.6 V is typical of CoFeB/MgO. Default inf: linear junctions (the paper's model)",
       flag="--vh", label="V_h", inf_ok=True),
    _p("state_ohm", "device", "ohm", 1.0, 1e9, None, "measured (device file)", "read resistance of each state",
       flag=""),
    _p("state_sigma", "device", _LN, 0.0, 1.0, 0.0, "measured (device file); bound as sigma",
       "device-to-device ln-spread of each state", flag=""),
    _p("area_um2", "device", "um^2", 1e-6, 1e4, None, "paper Methods: 250 x 500 nm ellipse, 0.098 um^2",
       "junction area of a cell", flag="", low_open=False),
    _p("ra_ohm_um2", "device", "ohm um^2", 1e-3, 1e9, None, "paper Methods: 2.2-3.6 kohm um^2",
       "resistance-area product of a cell's stack", flag=""),
    # --- variation --------------------------------------------------------------------------
    _p("sigma", "variation", _LN, 0.0, 1.0, 0.0, "assumed; measured spreads are a few per cent",
       "independent log-normal device-to-device variation of R_P and R_AP", label="variation sigma"),
    _p("device_ra_sigma", "variation", _LN, 0.0, 1.0, 0.0, _TYPICAL + ", typical 0.05",
       "correlated variation: device-to-device ln-spread of RA", label="variation device_ra_sigma"),
    _p("cell_ra_sigma", "variation", _LN, 0.0, 1.0, 0.0, _TYPICAL + ", typical 0.03",
       "correlated variation: cell-to-cell ln-spread of RA", label="variation cell_ra_sigma"),
    _p("device_tmr_sigma", "variation", _LN, 0.0, 1.0, 0.0, _TYPICAL + ", typical 0.03",
       "correlated variation: device-to-device ln-spread of the TMR", label="variation device_tmr_sigma"),
    _p("cell_tmr_sigma", "variation", _LN, 0.0, 1.0, 0.0, _TYPICAL + ", typical 0.02",
       "correlated variation: cell-to-cell ln-spread of the TMR", label="variation cell_tmr_sigma"),
    _p("variation_scale", "variation", "1", 0.0, 10.0, 1.0, "assumed",
       "multiply every variation sigma by this (with --variation typical: a multiple of the typical spreads)"),
    # --- faults -----------------------------------------------------------------------------
    _p("fault_rate", "faults", "fraction", 0.0, 1.0, 0.0, "assumed",
       "fraction of faulty cells, split evenly over stuck-P, stuck-AP, open and short (Faults.uniform)"),
    _p("stuck_p", "faults", "fraction", 0.0, 1.0, 0.0, "assumed", "fraction of cells stuck at P",
       flag="--fault-stuck-p", label="fault rate stuck_p"),
    _p("stuck_ap", "faults", "fraction", 0.0, 1.0, 0.0, "assumed", "fraction of cells stuck at AP",
       flag="--fault-stuck-ap", label="fault rate stuck_ap"),
    _p("open", "faults", "fraction", 0.0, 1.0, 0.0, "assumed", "fraction of open cells (missing from the circuit)",
       flag="--fault-open", label="fault rate open"),
    _p("short", "faults", "fraction", 0.0, 1.0, 0.0, "assumed",
       "fraction of shorted (broken-down) cells, each --short-ohm", flag="--fault-short", label="fault rate short"),
    _p("short_ohm", "faults", "ohm", 0.0, 1e9, 500.0, "assumed: a hard MgO breakdown pinhole, << R_P",
       "resistance of a shorted cell", low_open=True),
    # --- periphery (models, xbar.analysis.periphery) ----------------------------------------
    _p("adc_bits", "periphery", "bits", 1, 24, 8, "assumed (8-bit SAR)",
       "ADC resolution (energy model and settling band; infer: digitize the column currents, default off)",
       integer=True),
    _p("adc_fom_j", "periphery", "J", 0.0, 1e-9, 10e-15, "Walden FOM, Murmann ADC survey (SAR ~10 fJ/step)",
       "ADC figure of merit per conversion step"),
    _p("adc_enob_loss_bits", "periphery", "bits", 0.0, 24.0, 0.5, "assumed", "ENOB = bits - this"),
    _p("adc_sample_rate_hz", "periphery", "Hz", 0.0, 1e12, 100e6, "assumed", "ADC conversions per second",
       low_open=True),
    _p("columns_per_adc", "periphery", "1", 1, 65536, 8, "assumed (NeuroSim-style multiplexing)",
       "columns multiplexed onto one ADC", integer=True),
    _p("dac_bits", "periphery", "bits", 1, 24, 8, "assumed", "input DAC resolution", integer=True),
    _p("dac_fom_j", "periphery", "J", 0.0, 1e-9, 10e-15, "assumed equal to the ADC's",
       "DAC energy per conversion step"),
    _p("dac_sample_rate_hz", "periphery", "Hz", 0.0, 1e12, 100e6, "assumed", "DAC conversions per second",
       low_open=True),
    _p("tia_supply_volt", "periphery", "V", 0.0, 10.0, 1.0, "assumed", "TIA supply voltage"),
    _p("tia_bias_ampere", "periphery", "A", 0.0, 1.0, 10e-6, "assumed (low-power current sense)",
       "TIA bias current per column"),
    _p("tia_gbw_hz", "periphery", "Hz", 0.0, 1e13, 1e9, "assumed", "TIA gain-bandwidth product", low_open=True),
    # --- array and read (per-command options) -----------------------------------------------
    _p("wire_ohm", "array", "ohm", 0.0, 1e9, 1.0, "paper: ~1 ohm per segment at 28 nm pitch (assumed)",
       "row and column wire resistance per segment"),
    _p("row_wire_ohm", "array", "ohm", 0.0, 1e9, None, "as wire_ohm", "row wire resistance per segment"),
    _p("col_wire_ohm", "array", "ohm", 0.0, 1e9, None, "as wire_ohm", "column wire resistance per segment"),
    _p("driver_ohm", "array", "ohm", 0.0, 1e9, 0.0, "assumed (ideal driver)", "row driver output resistance"),
    _p("access_ohm", "array", "ohm", 0.0, 1e9, 0.0, "assumed (ideal access)", "series access resistance per device"),
    _p("ref_ohm", "array", "ohm", 1e-3, 1e12, 1e6, "paper: measured through 1 Mohm",
       "sense reference resistor (--sense resistor)"),
    _p("tia_feedback_ohm", "array", "ohm", 0.0, 1e12, 1e3, "assumed", "TIA feedback resistor (sets output volts)",
       flag="", low_open=True),
    _p("v_read", "array", "V", 0.0, 10.0, 0.1, "paper: 0.1 V read; MgO breaks down near 1 V",
       "read voltage of a full input", low_open=True),
    _p("t_read_s", "array", "s", 0.0, 1.0, 30e-9, "paper: ~30 ns SOT-MTJ read", "read pulse width",
       flag="--t-read", low_open=True),
    _p("seed", "array", "1", 0, 2 ** 32 - 1, 0, "numpy's seed range", "seed for random states, inputs, "
       "variation and faults", integer=True),
    # --- temperature and access transistors (xbar.device.temperature, xbar.device.access) ----
    _p("temperature_c", "physics", "C", -200.0, 300.0, None, "assumed: from liquid nitrogen to below the free layer's Curie point", "operating temperature (default: the devices' 27 C values)",
       flag="--temp", label="temperature"),
    _p("access_width_nm", "physics", "nm", 1.0, 1e6, 90.0, "PTM 45 nm HP (W = 2 L, assumed)",
       "access transistor gate width", label="width_nm"),
    _p("access_wordline_volt", "physics", "V", 0.0, 5.0, 1.0, "PTM 45 nm HP V_DD",
       "word-line (gate) voltage of the access transistor during a read", label="wordline_volt"),
]}


def param(name: str) -> Param:
    """The row of ``name`` (a KeyError names a typo at import time, not at a user's run)."""
    return PARAMS[name]


def check(name: str, value, label: str | None = None):
    """``value`` checked against the row of ``name``; ``label`` overrides the name in the message."""
    return PARAMS[name].check(value, label)


def argtype(name: str):
    """The argparse converter of the row of ``name``."""
    return PARAMS[name].argtype()


def in_group(group: str) -> list[Param]:
    """The rows of ``group`` that have a command-line option, in table order."""
    return [p for p in PARAMS.values() if p.group == group and p.cli_flag]


def markdown_table(groups=GROUPS) -> str:
    """The table as Markdown, one section per group: the docs' parameters page is generated from this."""
    out = []
    for group in groups:
        out += [f"### {group}", "", "| parameter | option | meaning | unit | range | default | source |",
                "|---|---|---|---|---|---|---|"]
        for p in PARAMS.values():
            if p.group != group:
                continue
            default = "derived" if p.default is None else f"{p.default:g}" \
                if isinstance(p.default, (int, float)) else str(p.default)
            lo = "" if p.low is None else f"{'(' if p.low_open else '['}{p.low:g}"
            hi = "" if p.high is None else f"{p.high:g}{')' if p.high_open else ']'}"
            option = f"`{p.cli_flag}`" if p.cli_flag else "file/API"
            out.append(f"| `{p.name}` | {option} | {p.help.replace('|', '/')} | {p.unit} | {lo}, {hi} | "
                       f"{default} | {p.source} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # python -m xbar.util.ranges > table.md
    print(markdown_table())
