"""What every subcommand shares: file and folder checks, array files, one-line failures, --vh, the one set of
device, variation, fault and periphery options (rows of :mod:`xbar.util.ranges`),
JSON outputs and the SPICE options."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from xbar.cli.argtypes import one_line, positive
from xbar.util.ranges import argtype


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
    from xbar.util.csv_safe import write_array
    with atomic_open(path, "wb") as f:
        if path.endswith(".npy"):
            np.save(f, array)
        else:
            write_array(f, array, ",".join(columns))


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
    p.add_argument("--t-read", type=argtype("t_read_s"), default=30e-9, metavar="SECONDS",
                   help="read pulse width in s, > 0 and <= 1 (default 30e-9: the ~30 ns SOT-MTJ read the paper cites)")


def write_json(path: str, data) -> None:
    """Write ``data`` as indented JSON, atomically."""
    import json

    from xbar.util.atomic import write_text
    write_text(path, json.dumps(data, indent=1, allow_nan=True) + "\n")


def yes(flag: bool) -> str:
    """``yes`` or ``no``."""
    return "yes" if flag else "no"


def add_timeout(p: argparse.ArgumentParser,
                default: str = "scaled to the circuit: 300 s + 0.2 ms per node per input vector") -> None:
    """Add ``--timeout`` (the limit of each ngspice/pyspice run; ``default`` says what applies without it)."""
    p.add_argument("--timeout", type=positive, metavar="SECONDS",
                   help="limit of each ngspice/pyspice run in seconds, the `ngspice -v` probe included "
                        f"(default $XBAR_NGSPICE_TIMEOUT, else {default})")


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


def add_physics_options(p: argparse.ArgumentParser) -> None:
    """``--temp`` and the access-transistor options, on every array command."""
    from xbar.device.access import CORNERS
    from xbar.util.ranges import PARAMS
    g = p.add_argument_group("temperature and access transistors")
    g.add_argument("--temp", type=PARAMS["temperature_c"].argtype(), metavar="CELSIUS",
                   help="operating temperature in C, -200..300 (wires tc1 3.9e-3/K, TMR spin-wave, R_P, switching; "
                        "default: the devices' 27 C values and no temperature model in netlists)")
    g.add_argument("--access", action="store_true",
                   help="a read transistor in series with every device, gate on the row's word line (built-in "
                        "EKV NMOS after PTM 45 nm HP; docs/access-and-temperature.md)")
    g.add_argument("--access-corner", choices=tuple(CORNERS), help="process corner of the built-in transistor "
                                                                     "(implies --access; default typical)")
    g.add_argument("--access-width-nm", type=PARAMS["access_width_nm"].argtype(), metavar="NM",
                   help="transistor width in nm (implies --access; default 90, L = 45 nm)")
    g.add_argument("--access-wordline-volt", type=PARAMS["access_wordline_volt"].argtype(), metavar="VOLT",
                   help="word-line (gate) voltage during a read (implies --access; default 1.0, PTM 45 nm V_DD)")
    g.add_argument("--access-model", metavar="FILE",
                   help="your own '.model NAME nmos' card or '.subckt NAME d g s [b]' for the transistor "
                        "(netlists and --backend ngspice only: the native solvers cover only the built-in model)")


def physics_from_args(args) -> dict:
    """``access``, ``access_model`` and ``temperature_c`` (Crossbar and CircuitSpec keywords) from the options."""
    from xbar.device.access import AccessTransistor
    given = {k: v for k, v in (("corner", args.access_corner), ("width_nm", args.access_width_nm),
                               ("wordline_volt", args.access_wordline_volt)) if v is not None}
    out = {"temperature_c": args.temp}
    if args.access or given or args.access_model:
        out["access"] = AccessTransistor(**given)
    if args.access_model:
        from xbar.device.access_card import load_access_model
        out["access_model"] = load_access_model(args.access_model)
    return out


def network_physics(args) -> dict:
    """:func:`physics_from_args` for the network commands (``CircuitSpec`` keywords): no designer's card there."""
    from xbar.util.errors import ParameterError
    out = physics_from_args(args)
    if "access_model" in out:
        raise ParameterError("--access-model goes into netlists and solve --backend ngspice; infer and program run "
                             "the native solvers, which cover only the built-in transistor model")
    return out


# --- One set of device, variation, fault and periphery options on every array command --------------

#: The option groups every array command takes: every row of these groups in :mod:`xbar.util.ranges`.
MODEL_GROUPS = ("device", "variation", "faults", "periphery")

DEVICE_HELP = ("device TOML file (measured states or cells that differ) or a shipped name (measured-21pct, "
               "multisize-2p6nm); replaces --cells, --thickness, --r-p and --tmr")


def add_model_options(p: argparse.ArgumentParser, lists=()) -> None:
    """The device, variation, fault and periphery options, one per row of :mod:`xbar.util.ranges`.

    Every option's ``dest`` is its table name (``args.thickness_nm``, ``args.adc_fom_j``) and its
    default None (not given); :func:`options_from_args` reads them. ``lists``: table names that take
    a comma list (``program --thickness 1.6,1.9``).
    """
    from xbar.cli.argtypes import comma_list
    from xbar.util.ranges import in_group
    for group in MODEL_GROUPS:
        g = p.add_argument_group(f"{group} options")
        if group == "device":
            g.add_argument("--device", metavar="FILE", help=DEVICE_HELP)
        if group == "variation":
            g.add_argument("--variation", choices=("typical", "none"),
                           help="typical: correlated variation with the documented typical RA and TMR spreads "
                                "(xbar.device.variation); none: no variation (default: --sigma and the "
                                "*-sigma options, else none)")
        for row in in_group(group):
            convert = v_half if row.name == "v_half_volt" else row.argtype()
            extra = ""
            if row.name in lists:
                convert, extra = comma_list(convert), "; or a comma list"
            g.add_argument(row.cli_flag, dest=row.name, type=convert, metavar=row.unit.upper() if row.unit not in
                           ("1", "fraction", "%") else "X", help=row.cli_help() + extra.replace("%", "%%"))


def given_options(args, group: str) -> dict:
    """The options of ``group`` given on the command line: table name -> value."""
    from xbar.util.ranges import in_group
    return {r.name: getattr(args, r.name) for r in in_group(group) if getattr(args, r.name, None) is not None}


def options_from_args(args) -> "ArrayOptions":
    """:class:`ArrayOptions` from the parsed device, variation, fault and periphery options."""
    return ArrayOptions(*(given_options(args, group) for group in MODEL_GROUPS),
                        device_file=getattr(args, "device", None), variation_name=getattr(args, "variation", None))


@dataclass(frozen=True)
class ArrayOptions:
    """What the device, variation, fault and periphery options say, read the same way by every command.

    The ``*_values`` hold the options given (table name -> value, checked by the table's converters);
    the methods build the objects from them, with the dataclasses' defaults for the rest.
    """

    device_values: dict
    variation_values: dict
    fault_values: dict
    periphery_values: dict
    device_file: str | None = None
    variation_name: str | None = None

    def __post_init__(self):
        from xbar.util.errors import ParameterError
        device, faults, variation = self.device_values, self.fault_values, self.variation_values
        device_file, variation_name = self.device_file, self.variation_name
        if ("r_p_ohm" in device) != ("tmr_percent" in device):
            raise ParameterError("--r-p and --tmr go together")
        if device_file:
            clash = [f for f in ("n_cells", "thickness_nm", "r_p_ohm", "tmr_percent") if f in device]
            if clash:
                raise ParameterError(f"--device replaces {_flag(clash[0])}; give one or the other")
        elif "r_p_ohm" in device and "thickness_nm" in device:
            raise ParameterError("--r-p/--tmr replace --thickness; give one or the other")
        if "fault_rate" in faults and len(set(faults) - {"fault_rate", "short_ohm"}):
            raise ParameterError("give --fault-rate (split evenly over the four kinds) or the per-kind "
                                 "--fault-* rates, not both")
        if variation_name == "none" and set(variation) - {"variation_scale"}:
            raise ParameterError("--variation none takes no sigma options")

    def device(self, n_cells: int | None = None, thickness_nm: float | None = None):
        """The compound device (``n_cells``/``thickness_nm`` override the options, for lists)."""
        import numpy as np

        from xbar.device.compound import CompoundMTJ
        from xbar.device.junction import MTJ
        from xbar.device.library import library_mtj
        from xbar.util.ranges import param
        d = self.device_values
        vh = d.get("v_half_volt")
        if self.device_file:
            from xbar.device.files import load_device
            dev = load_device(self.device_file)
            dev = dev if vh is None else dev.with_v_half(vh)
            if "channel_ohm" in d:
                dev = CompoundMTJ(dev.mtj, dev.n_cells, d["channel_ohm"], dev.cells, dev.state_sigma)
            return dev
        vh = np.inf if vh is None else vh
        n = n_cells or d.get("n_cells", param("n_cells").default)
        if "r_p_ohm" in d:
            mtj = MTJ.from_tmr(d["r_p_ohm"], d["tmr_percent"] / 100.0, vh)
        else:
            mtj = library_mtj(thickness_nm or d.get("thickness_nm", param("thickness_nm").default), vh)
        return CompoundMTJ(mtj, n, d.get("channel_ohm"))

    def variation_fields(self) -> dict:
        """Variation's sigma fields (``sigma``, ``*_ra_sigma``, ``*_tmr_sigma``), scaled."""
        from xbar.device.variation import Variation
        v = dict(self.variation_values)
        scale = v.pop("variation_scale", 1.0)
        if self.variation_name == "typical":
            v = {**Variation.typical().sigma_fields(), **v}
        return Variation(**v).scaled(scale).sigma_fields()

    def variation(self, seed: int):
        """The :class:`~xbar.device.variation.Variation` the options describe, drawn from ``seed``."""
        from xbar.device.variation import Variation
        return Variation(seed=seed, **self.variation_fields())

    def faults(self, seed: int):
        """The :class:`~xbar.device.faults.Faults` the options describe, drawn from ``seed``."""
        from xbar.device.faults import Faults
        f = dict(self.fault_values)
        if "fault_rate" in f:
            return Faults.uniform(f.pop("fault_rate"), seed, **f)
        return Faults(seed=seed, **f)

    def periphery(self):
        """The :class:`~xbar.analysis.periphery.Periphery` model, the dataclass's defaults where not given."""
        from xbar.analysis.periphery import Periphery
        return Periphery(**self.periphery_values)

    def spec_fields(self) -> dict:
        """:class:`~xbar.network.circuit_spec.CircuitSpec` keyword arguments (without tiling and ADC)."""
        from xbar.device.faults import FAULT_KINDS
        d = self.device_values
        out = dict(device_file=self.device_file, v_half_volt=d.get("v_half_volt"),
                   channel_ohm=d.get("channel_ohm"), r_p_ohm=d.get("r_p_ohm"), tmr_percent=d.get("tmr_percent"),
                   periphery=self.periphery(), **self.variation_fields())
        out.update({k: d[k] for k in ("n_cells", "thickness_nm") if k in d})
        faults = self.faults(0)
        if "fault_rate" in self.fault_values:
            out["fault_rate"] = self.fault_values["fault_rate"]
        elif not faults.is_zero:
            out["fault_rates"] = tuple(getattr(faults, k) for k in FAULT_KINDS)
        out["short_ohm"] = faults.short_ohm
        return out


def _flag(name: str) -> str:
    from xbar.util.ranges import param
    return param(name).cli_flag
