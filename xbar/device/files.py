"""Device files: a designer's own compound MTJ as TOML, measured states or cells that differ.

Schema (units in the key names; every key optional unless said)::

    name = "my 3-cell device"         # text for reports (letters, digits, spaces, _.,;:()+-=%/)
    source = "wafer 7, die 3"         # text for reports, same characters
    channel_ohm = 0.0                 # whole write channel, ohm (default below)
    v_half_volt = 0.5                 # every cell's TMR bias half-point, V (default inf: linear)

    # Either the measured read resistance of each state, state 0 (all cells AP,
    # highest) .. state n (all P, lowest), 2..7 values; optionally a measured
    # device-to-device ln-spread per state (same length):
    state_ohm = [40000, 33000, 27200, 22400]
    state_sigma = [0.02, 0.02, 0.02, 0.02]

    # Or one [[cell]] table per cell, cell 0 nearest the read terminal, 1..6
    # cells, each given either as resistances ...
    [[cell]]
    r_p_ohm = 25200
    r_ap_ohm = 33800
    # ... or as a size and the stack's RA and TMR (R_P = RA / area,
    # R_AP = R_P (1 + TMR)): the paper's outlook of "multi-sized cells".
    [[cell]]
    area_um2 = 0.12
    ra_ohm_um2 = 2200
    tmr_percent = 78

A measured-state device is represented by n equivalent cells that reproduce the
measured states exactly (:meth:`xbar.device.compound.CompoundMTJ.from_state_resistances`);
its channel defaults to 0 ohm, since measured resistances already include the
channel's share. A cell device's channel defaults to the library model
(:func:`xbar.device.compound.channel_resistance`). ``v_half_volt`` makes the junctions
non-linear, TMR(V) = TMR0 / (1 + (V/V_h)^2) (:func:`xbar.device.junction.junction_current`);
for measured states it applies to the equivalent cells, i.e. each state's
resistance falls toward the all-P one as the bias grows. Every number is checked
against its row of the range table (:mod:`xbar.util.ranges`, the same bounds as the command
line and the API); any problem is one :class:`~xbar.util.errors.ParameterError` line naming
the file and the key.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from xbar.device.compound import MAX_CELLS, CompoundMTJ
from xbar.device.junction import MTJ, check_v_half
from xbar.util.errors import ParameterError
from xbar.util.files import read_bytes, read_toml
from xbar.util.ranges import check

_TOP_KEYS = {"name", "source", "channel_ohm", "v_half_volt", "state_ohm", "state_sigma", "cell"}
_CELL_KEYS = ({"r_p_ohm", "r_ap_ohm"}, {"area_um2", "ra_ohm_um2", "tmr_percent"})
_TEXT = re.compile(r"[A-Za-z0-9 _.,;:()+\-=%/]{0,200}")


def _number(value, where: str, key: str) -> float:
    """A file's number under ``key``, checked against the range table's row of that name."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{where} must be a number, got {value!r}")
    return check(key, value, where)


def _numbers(value, where: str, key: str) -> list[float]:
    if not isinstance(value, list) or not value:
        raise ParameterError(f"{where} must be a list of numbers")
    return [_number(v, f"{where}[{k}]", key) for k, v in enumerate(value)]


def _cell(table, k: int, where: str) -> MTJ:
    if not isinstance(table, dict):
        raise ParameterError(f"{where}: cell {k} must be a [[cell]] table")
    keys = set(table)
    form = next((f for f in _CELL_KEYS if keys == f), None)
    if form is None:
        unknown = sorted(keys - set().union(*_CELL_KEYS))
        raise ParameterError(f"{where}: cell {k} " + (f"has unknown key {unknown[0]!r}" if unknown else
                             "needs exactly r_p_ohm and r_ap_ohm, or area_um2, ra_ohm_um2 and tmr_percent"))
    at = f"{where}: cell {k}"
    if "r_p_ohm" in form:
        r_p = _number(table["r_p_ohm"], f"{at} r_p_ohm", "r_p_ohm")
        r_ap = _number(table["r_ap_ohm"], f"{at} r_ap_ohm", "r_ap_ohm")
    else:
        r_p = _number(table["ra_ohm_um2"], f"{at} ra_ohm_um2", "ra_ohm_um2") / _number(
            table["area_um2"], f"{at} area_um2", "area_um2")
        check("r_p_ohm", r_p, f"{at}: R_P = ra_ohm_um2 / area_um2")
        r_ap = r_p * (1.0 + _number(table["tmr_percent"], f"{at} tmr_percent", "tmr_percent") / 100.0)
    if r_ap < r_p:
        raise ParameterError(f"{at}: R_AP ({r_ap:g} ohm) must not be below R_P ({r_p:g} ohm)")
    return MTJ(r_p=r_p, r_ap=r_ap)


def device_from_dict(data: dict, where: str = "device") -> CompoundMTJ:
    """The device a parsed device file describes (see the module docstring); ``where`` prefixes errors."""
    if not isinstance(data, dict):
        raise ParameterError(f"{where}: not a device table")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ParameterError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_TOP_KEYS))})")
    for key in ("name", "source"):
        if key in data and (not isinstance(data[key], str) or not _TEXT.fullmatch(data[key])):
            raise ParameterError(f"{where}: {key} must be text of letters, digits, spaces and _.,;:()+-=%/ "
                                 "(at most 200 characters)")
    channel = _number(data["channel_ohm"], f"{where}: channel_ohm", "channel_ohm") if "channel_ohm" in data else None
    v_half = np.inf
    if "v_half_volt" in data:
        try:
            v_half = check_v_half(data["v_half_volt"])
        except ParameterError as exc:
            raise ParameterError(f"{where}: v_half_volt: {exc}") from None
    if ("state_ohm" in data) == ("cell" in data):
        raise ParameterError(f"{where}: give either state_ohm (measured states) or [[cell]] tables, "
                             "exactly one of them")
    try:
        if "state_ohm" in data:
            states = _numbers(data["state_ohm"], f"{where}: state_ohm", "state_ohm")
            sigma = None
            if "state_sigma" in data:
                sigma = _numbers(data["state_sigma"], f"{where}: state_sigma", "state_sigma")
                if len(sigma) != len(states):
                    raise ParameterError(f"state_sigma has {len(sigma)} values for {len(states)} states")
            return CompoundMTJ.from_state_resistances(states, 0.0 if channel is None else channel,
                                                      sigma).with_v_half(v_half)
        if "state_sigma" in data:
            raise ParameterError("state_sigma goes with state_ohm, not with [[cell]] tables")
        cells = data["cell"]
        if not isinstance(cells, list) or not 1 <= len(cells) <= MAX_CELLS:
            raise ParameterError(f"needs 1..{MAX_CELLS} [[cell]] tables, got "
                                 f"{len(cells) if isinstance(cells, list) else 'something else'}")
        return CompoundMTJ.heterogeneous([_cell(c, k, where) for k, c in enumerate(cells)],
                                         channel).with_v_half(v_half)
    except ParameterError as exc:
        text = str(exc)
        raise ParameterError(text if text.startswith(where) else f"{where}: {text}") from None


#: Folder of the device files that ship with xbar; ``--device NAME`` finds ``NAME.toml`` there.
SHIPPED_DIR = Path(__file__).parent / "device_files"


def shipped_devices() -> list[str]:
    """Names of the device files that ship with xbar."""
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.toml"))


def resolve(path) -> Path:
    """``path`` itself, or the shipped device file of that name when no such file exists."""
    p = Path(path)
    if not p.exists() and str(path) in shipped_devices():
        return SHIPPED_DIR / f"{path}.toml"
    return p


def read_device_dict(path) -> dict:
    """The parsed TOML of a device file (or shipped name), checked (a ParameterError names any problem)."""
    if not str(path).isprintable():
        raise ParameterError(f"device file {str(path)!r}: the path must be printable characters")
    path = resolve(path)
    where = f"device file {path}"
    data = read_toml(path, "device file")
    device_from_dict(data, where)
    return data


def file_sha256(path) -> str:
    """The sha256 of a device file's bytes (after :func:`resolve`): its content key in sweeps and caches."""
    return hashlib.sha256(read_bytes(resolve(path), "device file")).hexdigest()


def load_device(path) -> CompoundMTJ:
    """The compound device of the TOML device file at ``path`` (or a shipped name, see :func:`shipped_devices`)."""
    return device_from_dict(read_device_dict(path), f"device file {resolve(path)}")


def state_spacing_pct(device: CompoundMTJ) -> np.ndarray:
    """Resistance step between neighbouring states, (R_k / R_(k+1) - 1) in %, shape [n_cells]."""
    r = device.resistances()
    return 100.0 * (r[:-1] / r[1:] - 1.0)


def describe(device: CompoundMTJ) -> str:
    """One line: cells, state resistances and the smallest state spacing."""
    r = ", ".join(f"{v / 1e3:.2f}" for v in device.resistances())
    return (f"{device.n_cells}-cell device, states {r} kohm (state 0 .. {device.n_cells}), smallest spacing "
            f"{state_spacing_pct(device).min():.1f} %, channel {device.channel_ohm:g} ohm")
