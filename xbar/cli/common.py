"""What every subcommand shares: file and folder checks, array files, one-line failures, --vh,
JSON outputs and the SPICE options."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from xbar.cli.argtypes import one_line, positive


def os_message(exc: OSError) -> str:
    """One line for a file-system error, naming the path and what is wrong with it."""
    name = exc.filename or ""
    if isinstance(exc, FileExistsError) and os.path.isfile(name):
        return f"{name}: is a file, where a folder is needed"
    if isinstance(exc, IsADirectoryError):
        return f"{name}: is a folder, where a file is needed"
    if isinstance(exc, NotADirectoryError):
        return f"{name}: part of this path is a file, where a folder is needed"
    return f"{exc.strerror or exc}: {name}".rstrip(": ")


def folder_to_write(path: str, option: str) -> str:
    """``path`` if it is, or can become, a folder (checked before any work, creating nothing); else an error."""
    from xbar.util.errors import ParameterError
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ParameterError(f"{option} {path}: is a file, where a folder is needed")
    parent = p.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ParameterError(f"{option} {path}: {parent} is a file, where a folder is needed")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(f"{option} {path}: cannot create or write in {parent} (permission denied)")
    return path


def distinct_outputs(*named: tuple[str, str | None]) -> None:
    """Refuse two outputs (option, path) that name one file: the later write would replace the earlier."""
    from xbar.util.errors import ParameterError
    seen: dict[str, str] = {}
    for option, path in named:
        if not path:
            continue
        key = os.path.realpath(path)
        if key in seen:
            raise ParameterError(f"{seen[key]} and {option} both name {path}: one would replace the other; "
                                 "give each output its own file")
        seen[key] = option


def fail(message: str, status: int) -> int:
    """Print ``xbar: error: message`` as one line on stderr; returns ``status``."""
    print(f"xbar: error: {one_line(message)}", file=sys.stderr)
    return status


def load_array(path: str, what: str):
    """Read a CSV or NPY file into a float array [n, m] (a single vector becomes one row), with one-line errors.

    Refuses empty, 0-d, more than 2-d, non-numeric and complex contents.
    """
    import io
    import warnings

    import numpy as np

    from xbar.util.errors import ParameterError
    from xbar.util.files import check_file, open_file
    from xbar.util.resources import check_array_file
    try:
        check_file(path, "input file")
    except ParameterError as exc:
        raise ParameterError(f"cannot read {what} from {path}: {str(exc).split(f'{path}: ', 1)[-1]}") from None
    check_array_file(path, what)
    try:
        with warnings.catch_warnings(), open_file(path, "input file") as f:
            warnings.simplefilter("ignore")  # numpy warns on empty files; refused below
            if path.endswith(".npy"):
                array = np.load(f, allow_pickle=False)
            else:
                text = io.TextIOWrapper(f, encoding="utf-8")  # bad UTF-8 is refused, header row or not
                array = np.loadtxt(text, delimiter=",", ndmin=2, dtype=np.float64, skiprows=_header_rows(path))
    except (ValueError, OSError, EOFError, UnicodeDecodeError, RecursionError) as exc:
        raise ParameterError(f"cannot read {what} from {path}: {one_line(exc)}") from None
    if array.dtype.kind not in "biuf":
        raise ParameterError(f"{what} in {path} must be real numbers, got {array.dtype} values")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.size == 0:
        raise ParameterError(f"{what} in {path} must be a non-empty [rows, columns] table, "
                             f"got shape {list(array.shape)}")
    return array.astype(np.float64)


def save_array(path: str, array, columns: list[str]) -> None:
    """Write ``array`` [n, m] as NPY, or as CSV with a header row naming its ``columns`` (m names with units)."""
    import numpy as np

    from xbar.util.atomic import atomic_open
    with atomic_open(path, "wb") as f:
        if path.endswith(".npy"):
            np.save(f, array)
        else:
            np.savetxt(f, array, delimiter=",", fmt="%.17g", header=",".join(columns), comments="")


def _header_rows(path: str) -> int:
    """1 when a CSV file's first line is a header (a cell that is not a number, as xbar's outputs write), else 0."""
    from xbar.util.files import open_file
    with open_file(path, "input file") as f:
        first = f.readline(1 << 16).decode("utf-8", errors="replace")
    for cell in first.split(","):
        try:
            float(cell)
        except ValueError:
            return 1 if cell.strip() else 0
    return 0


def v_half(text: str) -> float:
    """``--vh``: the junctions' TMR bias half-point in volt (checked by :func:`xbar.device.junction.check_v_half`)."""
    from xbar.device.junction import check_v_half
    from xbar.util.errors import ParameterError
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"V_h must be a voltage in volt, got {text!r}") from None
    try:
        return check_v_half(value)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


VH_HELP = ("bias-dependent TMR: the voltage V_h at which a junction's TMR halves, TMR(V) = TMR0 / "
            "(1 + (V/V_h)^2); 0.3-0.6 V is typical of CoFeB/MgO (0.5 V in the Beihang/Zhao compact models). "
            "Default: linear junctions (the paper's model)")


def add_t_read(p: argparse.ArgumentParser) -> None:
    """Add ``--t-read`` (read pulse width, seconds)."""
    p.add_argument("--t-read", type=positive, default=30e-9, metavar="SECONDS",
                   help="read pulse width in s (default 30e-9: the ~30 ns SOT-MTJ read the paper cites)")


def write_json(path: str, data) -> None:
    """Write ``data`` as indented JSON, atomically."""
    import json

    from xbar.util.atomic import write_text
    write_text(path, json.dumps(data, indent=1, allow_nan=True) + "\n")


def yes(flag: bool) -> str:
    """``yes`` or ``no``."""
    return "yes" if flag else "no"


def add_timeout(p: argparse.ArgumentParser) -> None:
    """Add ``--timeout`` (the limit of each ngspice/pyspice run)."""
    p.add_argument("--timeout", type=positive, metavar="SECONDS",
                   help="limit of each ngspice/pyspice run in seconds (default $XBAR_NGSPICE_TIMEOUT, else "
                        "scaled to the circuit: 300 s + 0.2 ms per node per input vector)")


def spice_options(args) -> dict:
    """Solver options from --timeout, for the SPICE backends only."""
    if args.backend not in ("ngspice", "pyspice") or args.timeout is None:
        return {}
    from xbar.solvers.ngspice import check_timeout
    return {"timeout_s": check_timeout(args.timeout)}


def save_solver_info(output: str, info: dict) -> None:
    """Write what solved the outputs beside them, as ``<output>.json``."""
    import json

    from xbar.util.atomic import write_text
    write_text(f"{output}.json", json.dumps(dict(info, outputs=output), indent=1) + "\n")


def add_dataset_options(p: argparse.ArgumentParser) -> None:
    """``--dataset`` and ``--data-dir``, shared by the commands that read a dataset."""
    p.add_argument("--dataset", choices=("digits", "mnist", "fashion"), default="digits",
                   help="digits (bundled, default), mnist or fashion")
    p.add_argument("--data-dir", help="folder of the IDX files (mnist/ or fashion-mnist/), or the folder "
                                      "holding mnist/ and fashion-mnist/ (default $XBAR_DATA_DIR or "
                                      "~/.cache/xbar/data)")
