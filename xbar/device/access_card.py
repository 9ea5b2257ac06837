"""A designer's own access-transistor model for the SPICE path (``--access-model FILE``).

The file holds either a ``.model NAME nmos ...`` card (each access transistor is then
``M<i>_<j> drain gate source 0 NAME W=.. L=..``, bulk at ground, W/L from the built-in
model's geometry) or a ``.subckt NAME d g s`` (or ``d g s b``) definition (instantiated
``X... drain gate source [0] NAME``). Its text goes into the netlist verbatim, so only the
lines a model needs pass: comments, ``+`` continuations, ``.model``, ``.subckt``/``.ends``,
``.param`` and element lines. Control blocks, includes, analyses and anything else are
refused with one line naming the file and line: a ``.control`` section could run shell
commands. The native solvers cover only the built-in model
(:class:`xbar.device.access.AccessTransistor`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from xbar.util.errors import ParameterError
from xbar.util.validate import integer

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_FILE = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
_ALLOWED_DOT = (".model", ".subckt", ".ends", ".param")
MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class SpiceAccessModel:
    """A checked transistor model: ``name``, ``kind`` ("model" or "subckt"), ``ports`` (3 or 4 for a
    subckt, 4 for a model card), the checked ``text`` and the ``source`` file name (for comments)."""

    name: str
    kind: str
    ports: int
    text: str
    source: str

    def __post_init__(self):
        if not (isinstance(self.source, str) and _FILE.fullmatch(self.source)):
            raise ParameterError(f"access model source must be a plain file name, got {self.source!r}")
        if not isinstance(self.text, str):
            raise ParameterError(f"access model text must be a string, got {type(self.text).__name__}")
        found = _check_lines(self.text, self.source)
        if not (isinstance(self.name, str) and _NAME.fullmatch(self.name)):
            raise ParameterError(f"access model {self.source}: model name {self.name!r} must be letters, digits and _")
        if not any(f[0] == self.kind and f[1] == self.name for f in found):
            raise ParameterError(f"access model {self.source}: no {self.kind!r} named {self.name!r} in its text")
        object.__setattr__(self, "ports", integer("access model ports", self.ports, low=3, high=4))

    def instance(self, label: str, drain: str, gate: str, source: str, width_nm: float, length_nm: float) -> str:
        """The netlist line of one access transistor (``label`` and node names are index-built)."""
        if self.kind == "model":
            return f"M{label} {drain} {gate} {source} 0 {self.name} W={width_nm:.6g}n L={length_nm:.6g}n"
        bulk = " 0" if self.ports == 4 else ""
        return f"X{label} {drain} {gate} {source}{bulk} {self.name}"


def load_access_model(path) -> SpiceAccessModel:
    """Read and check a model file (see the module docstring); one-line ParameterError on anything else."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_BYTES:
            raise ParameterError(f"access model {path}: larger than {MAX_BYTES} bytes; give one model card")
        raw = p.read_bytes()
    except OSError as exc:
        raise ParameterError(f"cannot read access model {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise ParameterError(f"access model {path}: not plain ASCII text") from None
    return parse_access_model(text, p.name if _FILE.fullmatch(p.name) else "model file")


def parse_access_model(text: str, source: str = "model") -> SpiceAccessModel:
    """Check ``text`` (see the module docstring) and find its transistor: the first NMOS card, else subcircuit."""
    if not (isinstance(source, str) and _FILE.fullmatch(source)):
        source = "model file"
    if not isinstance(text, str):
        raise ParameterError(f"access model {source}: text expected")
    found = _check_lines(text, source)
    if not found:
        raise ParameterError(f"access model {source}: no '.model NAME nmos' card or '.subckt NAME d g s [b]' found")
    kind, name, ports = next((f for f in found if f[0] == "model"), found[0])
    if kind == "subckt" and ports not in (3, 4):
        raise ParameterError(f"access model {source}: subcircuit {name} must have ports d g s or d g s b, "
                             f"has {ports}")
    return SpiceAccessModel(name, kind, ports, text.rstrip() + "\n", source)


def _check_lines(text: str, source: str) -> list[tuple[str, str, int]]:
    """Refuse any line a model does not need; return the (kind, name, ports) of its NMOS cards and subcircuits."""
    found = []
    for k, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if not (line.isascii() and line.replace("\t", " ").isprintable()):
            raise ParameterError(f"access model {source}, line {k}: control or non-ASCII characters")
        words = line.split()
        if not words or line.lstrip().startswith(("*", "+", ";")):
            continue
        head = words[0].lower()
        if head.startswith("."):
            if head not in _ALLOWED_DOT:
                raise ParameterError(f"access model {source}, line {k}: {words[0]} is not allowed in a model file "
                                     f"(only {', '.join(_ALLOWED_DOT)}, elements and comments)")
            if head == ".model" and len(words) >= 3 and words[2].lower().split("(")[0] == "nmos":
                found.append(("model", words[1], 4))
            elif head == ".subckt" and len(words) >= 2:
                ports = [w for w in words[2:] if "=" not in w and w.lower() != "params:"]
                found.append(("subckt", words[1], len(ports)))
        elif not head[0].isalpha():
            raise ParameterError(f"access model {source}, line {k}: not a SPICE element, card or comment")
    return found
