"""The command line's parser: one-line errors and typed option values checked where they enter.

:class:`Parser` is an ``argparse.ArgumentParser`` whose errors are one line,
``xbar: error: ...``, with exit status 2 (never the usage block), and which
reads negative numbers such as ``-1e-9`` or ``-inf`` as values, not options.
The converters below check a value when argparse reads it, so a bad value is
refused with a message that names the option (argparse adds ``argument
--NAME:``) before any work starts.
"""

from __future__ import annotations

import argparse
import math
import re
import sys

from xbar.util.ranges import argtype

#: What argparse should read as a negative number rather than an option: -1, -.5, -1e-9, -inf, -nan.
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser with one-line errors and negative numbers as values (its subparsers too)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str):
        """Print argparse's error as one ``xbar: error:`` line and exit with status 2."""
        print(f"xbar: error: {one_line(message)}", file=sys.stderr)
        sys.exit(2)


def one_line(message) -> str:
    """``message`` as a single line (newlines and runs of spaces folded)."""
    return " ".join(str(message).split())


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and value == int(value):
        return int(value)
    raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")


def finite(text: str) -> float:
    """Any finite number."""
    value = _number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def positive(text: str) -> float:
    """A finite number > 0."""
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def nonnegative(text: str) -> float:
    """A finite number >= 0."""
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def integer(low: int | None = None, high: int | None = None):
    """A converter for integers in ``low..high`` (either bound may be None)."""
    def convert(text: str) -> int:
        value = _integer(text)
        if (low is not None and value < low) or (high is not None and value > high):
            if high is None:
                raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
            if low is None:
                raise argparse.ArgumentTypeError(f"must be an integer <= {high}, got {text!r}")
            raise argparse.ArgumentTypeError(f"must be an integer in {low}..{high}, got {text!r}")
        return value
    convert.__name__ = "integer"
    return convert


#: A seed for numpy's generators: 0 .. 2**32 - 1 (numpy refuses negative seeds).
seed = argtype("seed")
#: A count of one or more things.
count = integer(1)


def within(low: float, high: float):
    """A converter for finite numbers in ``low..high``."""
    def convert(text: str) -> float:
        value = _number(text)
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be a number in {low:g}..{high:g}, got {text!r}")
        return value
    convert.__name__ = "number"
    return convert


def comma_list(convert):
    """A converter for one value or a comma list of values, each read by ``convert``."""
    def convert_list(text: str) -> list:
        items = [t.strip() for t in text.split(",")]
        if not all(items):
            raise argparse.ArgumentTypeError(f"expected a value or a comma list of values, got {text!r}")
        return [convert(t) for t in items]
    convert_list.__name__ = "list"
    return convert_list


def above(low: float, high: float):
    """A converter for finite numbers in ``(low, high]``: greater than ``low``, at most ``high``."""
    def convert(text: str) -> float:
        value = _number(text)
        if not (math.isfinite(value) and low < value <= high):
            raise argparse.ArgumentTypeError(f"must be a number > {low:g} and <= {high:g}, got {text!r}")
        return value
    convert.__name__ = "number"
    return convert


# Physical values: converters from the one range table (xbar.util.ranges), so the command line,
# device files and the Python API refuse the same values with the same bounds.
#: A series resistance (wire segment, driver, access, write channel) in ohm.
series_ohm = argtype("wire_ohm")
#: An MTJ resistance in ohm (R_P).
mtj_ohm = argtype("r_p_ohm")
#: A sense reference resistor in ohm.
ref_ohm = argtype("ref_ohm")
#: A read voltage in volt.
read_volt = argtype("v_read")
#: Log-normal device-to-device variation, sigma of ln R.
ln_sigma = argtype("sigma")
#: TMR in percent.
tmr_percent = argtype("tmr_percent")
