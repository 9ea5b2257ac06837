"""Every documented physical parameter of xbar, read from the code, as Markdown tables.

:func:`parameters` is the one function the physics page reads. Today it collects
what the code already records: the switching model's ``PARAMETER_SOURCES``, the
commented fields of parameter dataclasses (``Periphery``) and the commented
upper-case numeric constants of the physics modules (``#:`` lines above them, or
a trailing comment). When the package gains one range table for every
parameter, only this function changes.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import io
import numbers
import pkgutil
import re
import tokenize
from dataclasses import dataclass

#: Subpackages and modules whose parameters are physics (prefix match on the module name).
PHYSICS_MODULES = ("xbar.device", "xbar.array", "xbar.analysis", "xbar.programming", "xbar.network.circuit_spec")

#: Unit by the end of a name (lower case), longest first.
UNIT_SUFFIXES = (("_farad_per_m", "F/m"), ("_m2", "m^2"), ("_f_per_m", "F/m"), ("_ohm", "ohm"), ("_volt", "V"), ("_v", "V"),
                 ("_ampere", "A"), ("_farad", "F"), ("_hz", "Hz"), ("_nm", "nm"), ("_mt", "mT"), ("_m", "m"),
                 ("_s", "s"), ("_j", "J"), ("_k", "K"), ("_bits", "bit"), ("_sigma", "1 (ln-spread)"),
                 ("_fraction", "1"), ("_ratio", "1"), ("_permittivity", "1"))

#: Units of names that do not end in one.
UNITS = {"K_B": "J/K", "Q_E": "C", "FANO": "1", "MAX_CELLS": "cells", "DEFAULT_TILE": "devices",
         "columns_per_adc": "columns", "delta_thin": "1", "DEFAULT_ADC_BITS": "bit", "max_ramps": "ramps",
         "max_pulses": "pulses", "v_read": "V", "adc_doubling_per_bit": "x per bit", "K_OVER_Q": "V/K",
         "ZERO_C_KELVIN": "K", "TNOM_C": "C", "EPS_OX": "F/m", "PTM45_U0": "m^2/Vs", "PTM45_UA": "m/V",
         "PTM45_UTE": "1", "MU_COX": "A/V^2", "TMR_SPINWAVE_PER_K15": "K^-1.5", "STUDY_RANGE_C": "C"}

#: Kind of a source, by the first pattern its text matches.
KINDS = (("fitted", r"(?i)\bfitted\b"), ("cited", r"CODATA|Handbook|(?<!Kumar )et al\.|IEEE|J\. Appl|survey|exact SI"),
         ("assumed", r"(?i)\bassum|\btypical\b"),
         ("paper", r"\bpaper\b|\bFig\. ?\d|Kumar|\bMethods\b|\bsection [A-D]\b"))


@dataclass(frozen=True)
class Parameter:
    """One parameter: where it lives, its default, unit, kind of source and the source itself."""

    module: str
    name: str
    value: str
    unit: str
    kind: str
    source: str


def parameters() -> list[Parameter]:
    """Every physical parameter the code documents, in module order."""
    rows = []
    for module in physics_modules():
        rows += _switching(module) + _dataclass_fields(module) + _constants(module)
    return rows


def physics_modules() -> list:
    """The imported physics modules (:data:`PHYSICS_MODULES`) that exist, in name order."""
    import xbar
    names = [m.name for m in pkgutil.walk_packages(xbar.__path__, "xbar.")]
    return [importlib.import_module(n) for n in sorted(names)
            if any(n == p or n.startswith(p + ".") for p in PHYSICS_MODULES)]


def markdown(rows: list[Parameter] | None = None) -> str:
    """One table per module: parameter, default, unit, kind, source."""
    rows = parameters() if rows is None else rows
    out = []
    for module in dict.fromkeys(r.module for r in rows):
        out += [f"### `{module}`", "", "| parameter | default | unit | kind | source |", "|---|---|---|---|---|"]
        out += [f"| `{r.name}` | {r.value} | {r.unit} | {r.kind} | {_cell(r.source)} |"
                for r in rows if r.module == module]
        out.append("")
    return "\n".join(out)


def unit_of(name: str) -> str:
    """The unit a parameter's name says (see :data:`UNIT_SUFFIXES`), else :data:`UNITS`, else ''."""
    if name in UNITS:
        return UNITS[name]
    low = name.lower()
    return next((unit for suffix, unit in UNIT_SUFFIXES if low.endswith(suffix)), "")


def kind_of(source: str) -> str:
    """paper, fitted, assumed or cited, from the words of a source; '' when it says none."""
    return next((kind for kind, pattern in KINDS if re.search(pattern, source)), "")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _value(v) -> str | None:
    if v is None:
        return "None"
    if isinstance(v, bool) or not isinstance(v, (numbers.Real, tuple)):
        return None
    if isinstance(v, tuple):
        parts = [_value(x) for x in v]
        return None if None in parts else "(" + ", ".join(parts) + ")"
    return format(v, ".6g")


def _switching(module) -> list[Parameter]:
    sources = getattr(module, "PARAMETER_SOURCES", None)
    params = getattr(module, "SwitchingParams", None)
    if not sources or params is None:
        return []
    default = params()
    return [Parameter(module.__name__, f"SwitchingParams.{name}", _value(getattr(default, name)), unit, kind, source)
            for name, (unit, kind, source) in sources.items()]


def _comments(module) -> tuple[ast.Module, dict[int, str]]:
    """The module's syntax tree and its comments by line; a comment alone on its line keeps a leading newline."""
    text = inspect.getsource(module)
    comments = {tok.start[0]: ("\n" if tok.line.lstrip().startswith("#") else "") + tok.string
                for tok in tokenize.generate_tokens(io.StringIO(text).readline) if tok.type == tokenize.COMMENT}
    return ast.parse(text), comments


def _documented(body, comments: dict[int, str], mark: str = "#:"):
    """(name, comment) of each single-name assignment in ``body`` that a comment documents.

    A ``#:`` block documents the assignments right below it (a run with no blank
    line or other statement between); a trailing comment starting with ``mark``
    documents its line (``#`` for dataclass fields, ``#:`` for module constants).
    """
    block, last_end = "", None
    for node in body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else \
            node.target if isinstance(node, ast.AnnAssign) else None
        above, line = [], node.lineno - 1
        while comments.get(line, "").startswith("\n#:"):
            above.insert(0, comments[line][3:].strip())
            line -= 1
        if above:
            block = " ".join(above)
        elif last_end is None or node.lineno != last_end + 1:
            block = ""
        last_end = node.end_lineno
        if not isinstance(target, ast.Name):
            block = ""
            continue
        end = comments.get(node.end_lineno, "\n")
        trailing = "" if end.startswith("\n") or not end.startswith(mark) else end.lstrip("#:").strip()
        if block or trailing:
            yield target.id, " ".join(filter(None, (block, trailing)))


def _constants(module) -> list[Parameter]:
    tree, comments = _comments(module)
    rows = []
    for name, source in _documented(tree.body, comments):
        value = _value(getattr(module, name, None))
        if name.isupper() and value is not None:
            rows.append(Parameter(module.__name__, name, value, unit_of(name), kind_of(source), source))
    return rows


def _dataclass_fields(module) -> list[Parameter]:
    tree, comments = _comments(module)
    rows = []
    for node in tree.body:
        cls = getattr(module, getattr(node, "name", ""), None)
        if not (isinstance(node, ast.ClassDef) and dataclasses.is_dataclass(cls)) or cls.__module__ != module.__name__:
            continue
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        for name, source in _documented(node.body, comments, "#"):
            default = defaults.get(name, dataclasses.MISSING)
            value = _value(default)
            if value is not None and default is not None and value not in ("inf", "-inf", "nan"):
                rows.append(Parameter(module.__name__, f"{cls.__name__}.{name}", value, unit_of(name),
                                      kind_of(source), source))
    return rows


def library_markdown() -> str:
    """The paper's device library (``xbar.library_mtj``) at every 0.1 nm, as the code computes it."""
    import xbar
    lines = ["| free layer (nm) | R_P (kohm) | R_AP (kohm) | TMR (%) |", "|---|---|---|---|"]
    for tenth in range(16, 27):
        mtj = xbar.library_mtj(tenth / 10)
        lines.append(f"| {tenth / 10:.1f} | {mtj.r_p / 1e3:.1f} | {mtj.r_ap / 1e3:.1f} | {100 * mtj.tmr:.1f} |")
    return "\n".join(lines)
