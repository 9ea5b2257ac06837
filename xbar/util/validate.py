"""Checked values at the boundary where they enter xbar: numbers, integers, choices, arrays.

Every public constructor passes its fields through these, so a value that is not what
its field means (a string in a resistance, a float seed, a bool cell count, a complex
voltage) is refused with one :class:`~xbar.util.errors.ParameterError` naming the field,
and nothing but a checked number or an index-built name ever reaches netlist text.
Numbers are coerced to plain Python ``float``/``int``; numpy scalars are welcome,
``bool``, ``str``, ``bytes`` and ``complex`` are not.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from xbar.util.errors import ParameterError


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_real(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))) or \
        isinstance(value, (np.integer, np.floating))


def real(name: str, value, *, low: float | None = None, high: float | None = None,
         above: float | None = None, none: bool = False, unit: str = "") -> float | None:
    """``value`` as a finite float within [low, high] (or > ``above``); None only when ``none``."""
    if value is None and none:
        return None
    if not _is_real(value):
        raise ParameterError(f"{name} must be a real number{' ' + unit if unit else ''}, got {_show(value)}")
    x = float(value)
    if not math.isfinite(x):
        raise ParameterError(f"{name} must be finite, got {_show(value)}")
    if (low is not None and x < low) or (high is not None and x > high) or (above is not None and x <= above):
        parts = [f">= {low:g}" if low is not None else "", f"> {above:g}" if above is not None else "",
                 f"<= {high:g}" if high is not None else ""]
        raise ParameterError(f"{name} must be {' and '.join(p for p in parts if p)}"
                             f"{' ' + unit if unit else ''}, got {_show(value)}")
    return x


def integer(name: str, value, *, low: int | None = None, high: int | None = None, none: bool = False) -> int | None:
    """``value`` as a Python int within [low, high]; integral floats (3.0) pass, 2.5, bools and strings do not."""
    if value is None and none:
        return None
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        n = int(value)
    elif _is_real(value) and math.isfinite(float(value)) and float(value) == int(value):
        n = int(value)
    else:
        raise ParameterError(f"{name} must be an integer, got {_show(value)}")
    if (low is not None and n < low) or (high is not None and n > high):
        bounds = f"in {low}..{high}" if low is not None and high is not None else \
            f">= {low}" if low is not None else f"<= {high}"
        raise ParameterError(f"{name} must be an integer {bounds}, got {_show(value)}")
    return n


def choice(name: str, value, options) -> str:
    """``value`` if it is one of the strings ``options``."""
    if not isinstance(value, str) or value not in options:
        raise ParameterError(f"unknown {name} {_show(value)}; choose one of {', '.join(options)}")
    return value


def instance(name: str, value, cls):
    """``value`` if it is a ``cls``."""
    if not isinstance(value, cls):
        raise ParameterError(f"{name} must be a {cls.__name__}, got {type(value).__name__} {_show(value)}")
    return value


def flag(name: str, value) -> bool:
    """``value`` if it is a bool (numpy's too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name} must be true or false, got {_show(value)}")
    return bool(value)


def int_array(name: str, value, ndim: int | tuple | None = None, bools: bool = False) -> np.ndarray:
    """``value`` as an integer numpy array (bool arrays only with ``bools``), of ``ndim`` dimension(s)."""
    a = np.asarray(value) if not isinstance(value, (str, bytes)) else np.asarray(None)
    if a.dtype.kind not in ("iub" if bools else "iu"):
        raise ParameterError(f"{name} must be an integer array, got {a.dtype} {_show(value)}")
    if ndim is not None and a.ndim not in np.atleast_1d(ndim):
        raise ParameterError(f"{name} must have {ndim} dimension(s), got shape {list(a.shape)}")
    return a


def real_array(name: str, value, ndim: int | None = None, finite: bool = True) -> np.ndarray:
    """``value`` as a float64 array of real numbers (no complex, bool, string or object entries)."""
    a = np.asarray(value) if not isinstance(value, (str, bytes)) else np.asarray(None)
    if a.dtype.kind == "O":
        if not all(_is_real(v) for v in a.flat):
            bad = next(v for v in a.flat if not _is_real(v))
            raise ParameterError(f"{name} must hold real numbers, got {_show(bad)}")
        a = a.astype(float)
    if a.dtype.kind == "c":
        raise ParameterError(f"{name} must be real; complex values are refused, not truncated")
    if a.dtype.kind not in "iuf":
        raise ParameterError(f"{name} must be real numbers, got {a.dtype} {_show(value)}")
    a = a.astype(float, copy=False)
    if ndim is not None and a.ndim != ndim:
        raise ParameterError(f"{name} must have {ndim} dimension(s), got shape {list(a.shape)}")
    if finite and not np.isfinite(a).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise ParameterError(f"{name} must be finite, got {a[where].item()!r} at index {list(where)}")
    return a
