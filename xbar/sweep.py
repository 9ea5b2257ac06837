"""Parameter sweeps: any registered experiment over a grid, resumable, on local processes or Dask.

A sweep is a :class:`Grid` (one axis of values per parameter; a single value fixes a
parameter) over an experiment, a pure function ``f(**params) -> dict`` found by name
in :data:`EXPERIMENTS`. :func:`plan` validates the whole grid against the function's
signature before any work starts and expands it into points. Each point's key is the
sha256 of the canonical JSON of the experiment name and all its parameters (defaults
filled in), so a key names one computation whatever grid or run it came from. Keys name
parameters, not code: after changing what an experiment computes, use a fresh results file.

Results store: append-only JSON lines, written by the parent process only, one
``write()`` of one line per finished point followed by ``fsync``. The first line of a
run is a header holding the grid and its point keys, so ``--status`` knows the total.
Chosen over SQLite because a line is self-describing, appendable from any tool,
readable while a sweep runs, and needs no schema for arbitrary records; with a single
writer, SQLite's transactions buy nothing here. A kill can tear at most the last line:
loading ignores a final line without its newline and any line that does not parse, and
de-duplicates by key; the next run truncates the torn tail before appending. A file is
appended to, repaired or read only when it starts with xbar's header, so an unrelated file
named as the output is refused untouched, and a hand-edited header is an error, not skipped.
A rerun with an extended grid (all stored points kept) appends a new header and reuses every
record; another experiment, or a grid that would hide stored points, needs its own file. Records are
keyed, and every view of them (status, CSV, figures) follows the grid's order, so results
never depend on the order in which points finish.

Execution: a local pool of spawned processes (BLAS pinned to one thread per worker, dying
with the parent even under kill -9), or an existing ``dask.distributed`` cluster. Workers
only compute; the parent writes.

Security: a grid file names experiments, not code. Only :data:`EXPERIMENTS` run unless the
caller allows a module explicitly (``plan(grid, allow_import=[...])``, ``--allow-import``).
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import inspect
import itertools
import json
import math
import multiprocessing
import os
import sys
import tomllib
import types
import typing
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from .errors import ParameterError, XbarError
from .orphans import die_with_parent

#: Experiment name -> "module:function", imported only when a sweep uses it. A grid file
#: may name only these; other "module:function" experiments run only when the caller
#: allows their module explicitly (``allow_import``; ``xbar sweep --allow-import MODULE``),
#: because importing and calling a function named in a shared file is running its code.
EXPERIMENTS: dict[str, str] = {
    "crossbar": "xbar.experiments.crossbar:crossbar_point",
    "variation": "xbar.experiments.crossbar:variation_point",
    "paper": "xbar.experiments.paper:paper_point",
    "inference": "xbar.experiments.circuits:inference_point",
}

#: Folder of the grids that ship with xbar; ``xbar sweep NAME`` runs ``NAME.toml`` from it.
GRIDS_DIR = Path(__file__).parent / "grids"

#: Default most points in one sweep (see :func:`max_points`): the point list, and the
#: results header listing every key, are built in memory before the first point runs.
MAX_POINTS = 100_000

#: Largest grid file read, in bytes: a grid is a few lines of TOML.
MAX_GRID_BYTES = 1 << 20

#: Header field that marks a results file's grid line.
HEADER_TAG = "xbar_sweep"

#: Environment that pins BLAS/OpenMP pools to one thread in each local worker.
_ONE_THREAD = {name: "1" for name in (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "XBAR_THREADS")}


# --- Experiments -------------------------------------------------------------------------

def experiment_target(name: str, allow_import=()) -> str:
    """The "module:function" that experiment ``name`` runs, refused unless it is registered or allowed.

    ``name`` is a key of :data:`EXPERIMENTS`, or a "module:function" string whose module
    is listed in ``allow_import`` (module names, exact). Nothing is imported here.
    """
    if not isinstance(name, str):
        raise ParameterError(f"experiment must be a name, got {name!r}")
    if name in EXPERIMENTS:
        return EXPERIMENTS[name]
    module, sep, attr = name.partition(":")
    if not sep:
        raise ParameterError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)} "
                             "or give module:function with --allow-import MODULE")
    if not _is_target(name):
        raise ParameterError(f"experiment {name!r} is not a valid module:function name")
    if isinstance(allow_import, str):
        allow_import = (allow_import,)
    if module not in set(allow_import):
        raise ParameterError(f"experiment {name!r} would import and run code from module {module!r}; "
                             f"refused unless allowed explicitly (xbar sweep --allow-import {module}, "
                             f"or allow_import=[{module!r}] in Python)")
    return name


def _is_target(name: str) -> bool:
    """True when ``name`` has the syntax module:function (dotted identifiers)."""
    module, sep, attr = name.partition(":")
    return bool(sep) and all(p.isidentifier() for p in module.split(".")) and attr.isidentifier()


def experiment_function(name: str, allow_import=()):
    """The function registered as ``name``, or named by an allowed "module:function" (see :func:`experiment_target`)."""
    return _load_target(experiment_target(name, allow_import), name)


def _load_target(target: str, name: str):
    module, _, attr = target.partition(":")
    try:
        func = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ParameterError(f"experiment {name!r} ({target}) cannot be loaded: {exc}") from None
    if not callable(func):
        raise ParameterError(f"experiment {name!r} ({target}) is not a function")
    return func


def run_point(target: str, params: dict) -> dict:
    """Run one point in a worker: ``target`` is the "module:function" that :func:`plan` already checked.

    The record comes back as plain JSON types.
    """
    result = _load_target(target, target)(**params)
    if not isinstance(result, dict):
        raise ParameterError(f"experiment {target!r} returned {type(result).__name__}, not a dict record")
    return json.loads(json.dumps(result, default=_plain))


def _plain(value):
    """JSON fallback for numpy scalars and arrays inside experiment records."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"record value {value!r} of type {type(value).__name__} is not JSON-serializable")


# --- Grids -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """A sweep's definition: ``axes`` maps each parameter to its values, in sweep order.

    ``figure`` optionally describes the figure drawn from the results
    (see :func:`xbar.sweep_figures.draw`).
    """

    experiment: str
    axes: dict[str, tuple]
    figure: dict = field(default_factory=dict)

    def __post_init__(self):
        # A name, not code: registered, or module:function syntax that plan() still refuses unless allowed.
        if not (isinstance(self.experiment, str) and _is_target(self.experiment)):
            experiment_target(self.experiment)  # raises unless it is a registered name
        if not isinstance(self.axes, dict) or not all(
                isinstance(k, str) and k.isidentifier() and isinstance(v, (tuple, list)) for k, v in self.axes.items()):
            raise ParameterError(f"grid axes must map parameter names to tuples of values, got {self.axes!r}")
        if not isinstance(self.figure, dict):
            raise ParameterError(f"grid figure must be a table, got {self.figure!r}")
        if self.figure:
            from .sweep_figures import check
            check(self.figure)


@dataclass(frozen=True)
class Point:
    """One task: its stable ``key``, position ``index`` in the grid and full ``params``."""

    key: str
    index: int
    params: dict


@dataclass(frozen=True)
class Sweep:
    """A validated grid and its points in grid order (the last axis varies fastest)."""

    grid: Grid
    points: tuple[Point, ...]
    target: str | None = None  # "module:function" run per point; None: the registered experiment

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.points]


def point_key(experiment: str, params: dict) -> str:
    """sha256 of the canonical JSON of the experiment name and its (sorted) parameters."""
    text = json.dumps({"experiment": experiment, "params": params}, sort_keys=True,
                      separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def grid_from_dict(data: dict, source: str = "grid") -> Grid:
    """A :class:`Grid` from a parsed TOML document: ``experiment``, ``[params]``, optional ``[figure]``."""
    unknown = set(data) - {"experiment", "params", "figure"}
    if unknown:
        raise ParameterError(f"{source}: unknown top-level key {sorted(unknown)[0]!r} "
                             "(expected experiment, [params], [figure])")
    if not isinstance(data.get("experiment"), str):
        raise ParameterError(f"{source}: needs experiment = \"NAME\"")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise ParameterError(f"{source}: params must be a table of name = value or [values]")
    figure = data.get("figure", {})
    if not isinstance(figure, dict):
        raise ParameterError(f"{source}: figure must be a table")
    axes = {name: tuple(v) if isinstance(v, list) else (v,) for name, v in params.items()}
    return Grid(data["experiment"], axes, figure)


def load_grid(spec: str | Path) -> Grid:
    """Read a grid from a TOML file, or the shipped grid of that name (see :func:`shipped_grids`)."""
    path = Path(spec)
    if not path.exists() and str(spec) in shipped_grids():
        path = GRIDS_DIR / f"{spec}.toml"
    try:
        if path.is_file() and path.stat().st_size > MAX_GRID_BYTES:
            raise ParameterError(f"{path}: {path.stat().st_size:,} bytes is too large for a grid file "
                                 f"(at most {MAX_GRID_BYTES:,})")
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ParameterError(f"no grid file {str(spec)!r} and no shipped grid of that name "
                             f"(shipped: {', '.join(shipped_grids())})") from None
    except IsADirectoryError:
        raise ParameterError(f"grid {str(spec)!r} is a folder, not a TOML file") from None
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{path}: not UTF-8 text (byte {exc.start}); a grid file is UTF-8 TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{path}: invalid TOML: {exc}") from None
    return grid_from_dict(data, str(path))


def shipped_grids() -> list[str]:
    """Names of the grids that ship with xbar."""
    return sorted(p.stem for p in GRIDS_DIR.glob("*.toml"))


def parse_param(text: str) -> tuple[str, tuple]:
    """One CLI axis: ``name=v1,v2,...`` or an inclusive numeric range ``name=start:stop:step``."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ParameterError(f"--param {text!r} must look like name=1,2,3 or name=start:stop:step")
    if values.count(":") == 2 and "," not in values:
        return name, _inclusive_range(name, *(_scalar(v) for v in values.split(":")))
    if not values.strip():
        return name, ()
    return name, tuple(_scalar(v) for v in values.split(","))


def _scalar(text: str):
    """A CLI value: bool, none, int, float or else the string itself."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text.strip()


def _inclusive_range(name: str, start, stop, step) -> tuple:
    numbers = (start, stop, step)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers) or step <= 0:
        raise ParameterError(f"range for {name} needs numbers start:stop:step with step > 0, "
                             f"got {start}:{stop}:{step}")
    if not all(math.isfinite(v) for v in numbers):
        raise ParameterError(f"range for {name} needs finite numbers, got {start}:{stop}:{step}")
    if all(isinstance(v, int) for v in numbers):
        _check_count(len(range(start, stop + 1, step)), f"range for {name}")
        return tuple(range(start, stop + 1, step))
    count = math.floor((stop - start) / step + 1e-9) + 1
    _check_count(count, f"range for {name}")
    return tuple(round(start + k * step, 12) for k in range(max(count, 0)))


def with_axes(grid: Grid, axes: dict[str, tuple], experiment: str | None = None) -> Grid:
    """``grid`` with ``axes`` added or replacing its own (and another experiment, if given)."""
    return Grid(experiment or grid.experiment, {**grid.axes, **axes}, grid.figure)


def max_points() -> int:
    """Most points one sweep may have: $XBAR_MAX_POINTS, else :data:`MAX_POINTS`."""
    value = os.environ.get("XBAR_MAX_POINTS", "").strip()
    if not value:
        return MAX_POINTS
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:
        raise ParameterError(f"XBAR_MAX_POINTS must be a positive integer, got {value!r}")
    return limit


def _check_count(count: int, what: str) -> None:
    limit = max_points()
    if count > limit:
        raise ParameterError(f"{what} has {count:,} points, more than the limit of {limit:,} "
                             "(split it, or raise XBAR_MAX_POINTS)")


def plan(grid: Grid, *, allow_import=()) -> Sweep:
    """Validate ``grid`` against its experiment's signature and expand it into points.

    Fails with one :class:`ParameterError` on an unknown experiment or parameter, an
    empty axis, a repeated value, a value of the wrong type (checked against the
    function's annotations), a missing required parameter, or more points than
    :func:`max_points` (counted from the axes before any point is built). Ints given
    for float parameters become floats, so keys do not depend on how a number was
    written. Parameters left out take the function's defaults, which enter the keys.
    ``allow_import`` lists the modules whose "module:function" experiments may run
    (see :func:`experiment_target`); registered experiments need nothing.
    """
    if not isinstance(grid, Grid):
        raise ParameterError(f"plan() needs a Grid, got {type(grid).__name__}")
    target = experiment_target(grid.experiment, allow_import)
    func = _load_target(target, grid.experiment)
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func)
    except (NameError, TypeError):
        hints = {}
    slots = {n: p for n, p in signature.parameters.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    open_ended = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    where = f"experiment {grid.experiment!r}"
    axes = {}
    for name, values in grid.axes.items():
        if name not in slots and not open_ended:
            raise ParameterError(f"{where} has no parameter {name!r}; it takes {', '.join(slots)}")
        if not isinstance(values, (tuple, list)):
            raise ParameterError(f"axis {name!r} of {where} must be a tuple of values, got {values!r}")
        if not values:
            raise ParameterError(f"axis {name!r} of {where} is empty")
        _check_count(len(values), f"axis {name!r} of {where}")
        axis = tuple(_check_value(where, name, v, hints.get(name)) for v in values)
        seen = [json.dumps(v) for v in axis]
        if len(set(seen)) < len(seen):
            repeated = next(v for v in axis if seen.count(json.dumps(v)) > 1)
            raise ParameterError(f"axis {name!r} of {where} repeats the value {repeated!r}")
        axes[name] = axis
    _check_count(math.prod(len(v) for v in axes.values()), f"the grid of {where}")
    fixed = {}
    for name, p in slots.items():
        if name in axes:
            continue
        if p.default is p.empty:
            raise ParameterError(f"{where} needs parameter {name!r}")
        if p.default is None or isinstance(p.default, (bool, int, float, str)):
            fixed[name] = p.default
    checked = Grid(grid.experiment, axes, grid.figure)
    points = []
    for index, values in enumerate(itertools.product(*axes.values())):
        params = {**dict(zip(axes, values)), **fixed}
        points.append(Point(point_key(grid.experiment, params), index, params))
    return Sweep(checked, tuple(points), target)


def _check_value(where: str, name: str, value, hint):
    """``value`` checked against annotation ``hint`` (ints widened to float where a float is due)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ParameterError(f"parameter {name!r} of {where} must be finite, got {value!r}")
    if not (value is None or isinstance(value, (bool, int, float, str))):
        raise ParameterError(f"parameter {name!r} of {where} must be a number, string, bool or none, "
                             f"got {value!r}")
    if typing.get_origin(hint) is typing.Literal:
        if value not in typing.get_args(hint) or type(value) not in map(type, typing.get_args(hint)):
            choices = ", ".join(map(repr, typing.get_args(hint)))
            raise ParameterError(f"parameter {name!r} of {where} must be one of {choices}, got {value!r}")
        return value
    allowed = _allowed_types(hint)
    if allowed is None or type(value) in allowed:
        return value
    if type(value) is int and float in allowed:
        return float(value)
    expected = " or ".join("none" if t is type(None) else t.__name__ for t in allowed)
    raise ParameterError(f"parameter {name!r} of {where} must be {expected}, got {value!r}")


def _allowed_types(hint) -> set | None:
    """The scalar types an annotation admits; None when it is absent or not a simple scalar type."""
    if hint in (int, float, str, bool, type(None)):
        return {hint}
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        parts = [_allowed_types(a) for a in typing.get_args(hint)]
        return None if any(p is None for p in parts) else set().union(*parts)
    return None


# --- Results store -----------------------------------------------------------------------

@dataclass(frozen=True)
class Status:
    """How far the sweep in a results file has got."""

    path: str
    experiment: str
    total: int
    done: int

    @property
    def remaining(self) -> int:
        return self.total - self.done


def read_store(path: str | Path) -> tuple[dict | None, dict[str, dict]]:
    """The latest grid header of a results file and its records by key.

    The file must be xbar's own: it starts with a header line (:func:`is_results_file`).
    A final line without its newline (a write torn by a kill) and record lines that do
    not parse are ignored; a key seen twice keeps its first record. A header line that
    does not parse or lacks its fields (hand-edited) is an error, not skipped.
    """
    header, records = None, {}
    with open(path, "rb") as f:
        _check_magic(f.read(len(_MAGIC)), path)
        f.seek(0)
        for number, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                break
            try:
                entry = json.loads(line)
            except ValueError:
                if line.startswith(_MAGIC):
                    raise ParameterError(f"{str(path)!r} line {number}: sweep header is not valid JSON "
                                         "(hand-edited?); restore it or start a new results file") from None
                continue
            if not isinstance(entry, dict):
                continue
            if HEADER_TAG in entry:
                header = _check_header(entry, path, number)
            elif isinstance(entry.get("key"), str) and isinstance(entry.get("params"), dict) \
                    and isinstance(entry.get("result"), dict):
                records.setdefault(entry["key"], entry)
    return header, records


#: How every results file starts: the first header line, written by :func:`_append`.
_MAGIC = b'{"' + HEADER_TAG.encode() + b'":'


def _check_magic(head: bytes, path) -> None:
    if head and head != _MAGIC:
        raise ParameterError(f"{str(path)!r} is not an xbar sweep results file (it does not start with an "
                             f"{HEADER_TAG} header); refusing to read or change it, choose another -o file")


def is_results_file(path: str | Path) -> bool:
    """True when ``path`` is an empty file or starts like an xbar results file (checked before any write)."""
    with open(path, "rb") as f:
        head = f.read(len(_MAGIC))
    return not head or head == _MAGIC


def _check_header(entry: dict, path, number: int) -> dict:
    """``entry`` if it is a well-formed header (version 1), else a one-line ParameterError."""
    problems = []
    if entry.get(HEADER_TAG) != 1:
        problems.append(f"{HEADER_TAG} must be 1")
    if not isinstance(entry.get("experiment"), str):
        problems.append("experiment must be a string")
    axes = entry.get("axes")
    if not (isinstance(axes, dict) and all(isinstance(v, list) for v in axes.values())):
        problems.append("axes must map names to lists")
    if not isinstance(entry.get("figure", {}), dict):
        problems.append("figure must be a table")
    keys = entry.get("keys")
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        problems.append("keys must be a list of point keys")
    if problems:
        raise ParameterError(f"{str(path)!r} line {number}: malformed sweep header ({problems[0]}; "
                             "hand-edited?); restore it or start a new results file")
    return entry


def _require_store(path: str | Path) -> tuple[dict, dict[str, dict]]:
    if not Path(path).exists():
        raise ParameterError(f"no sweep results at {str(path)!r}")
    if not Path(path).is_file():
        raise ParameterError(f"{str(path)!r} is not a file")
    header, records = read_store(path)
    if header is None:
        raise ParameterError(f"{str(path)!r} holds no sweep header; is it an xbar sweep results file?")
    return header, records


def sweep_status(path: str | Path) -> Status:
    """Points done and remaining of the latest grid recorded in ``path``."""
    header, records = _require_store(path)
    return Status(str(path), header["experiment"], len(header["keys"]),
                  sum(k in records for k in header["keys"]))


def load_records(path: str | Path) -> list[dict]:
    """Finished records (``key``, ``params``, ``result``) of the latest grid in ``path``, in grid order."""
    header, records = _require_store(path)
    return [records[k] for k in header["keys"] if k in records]


def grid_of(path: str | Path) -> Grid:
    """The latest grid recorded in results file ``path``."""
    header, _ = _require_store(path)
    return Grid(header["experiment"], {k: tuple(v) for k, v in header["axes"].items()},
                header.get("figure", {}))


def flat_rows(records: list[dict]) -> list[dict]:
    """One flat dict per record: parameters, then result fields (nested ones joined with dots)."""
    rows = []
    for rec in records:
        row = dict(rec["params"])
        for name, value in _flatten(rec["result"]):
            row[f"result.{name}" if name in rec["params"] else name] = value
        rows.append(row)
    return rows


def _flatten(result: dict, prefix: str = "") -> Iterator[tuple[str, object]]:
    for name, value in result.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", json.dumps(value) if isinstance(value, list) else value


def write_csv(records: list[dict], out) -> None:
    """Write ``records`` as CSV to the open text file ``out``; columns in first-seen order."""
    rows = flat_rows(records)
    columns = list(dict.fromkeys(c for row in rows for c in row))
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


@contextmanager
def _open_store(path: Path):
    """The results file opened for appending under an exclusive lock, torn tail removed.

    An existing file is changed only after it is recognised as xbar's own
    (:func:`is_results_file`); anything else is refused untouched.
    """
    import fcntl
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise ParameterError(f"results file {str(path)!r} is not a regular file")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise XbarError(f"results file {str(path)!r} is in use by another running sweep") from None
        size = os.fstat(fd).st_size
        _check_magic(os.pread(fd, len(_MAGIC), 0), path)
        if size and os.pread(fd, 1, size - 1) != b"\n":
            os.ftruncate(fd, _after_last_newline(fd, size))
            os.fsync(fd)
        yield fd
    finally:
        os.close(fd)


def _after_last_newline(fd: int, size: int) -> int:
    """Offset just past the last newline in the first ``size`` bytes of ``fd`` (0 if none)."""
    end = size
    while end > 0:
        start = max(end - (1 << 16), 0)
        cut = os.pread(fd, end - start, start).rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        end = start
    return 0


def _append(fd: int, entry: dict) -> None:
    """One line in one write() (looped only if the kernel writes less), then fsync."""
    data = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]
    os.fsync(fd)


# --- Execution ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RunSummary:
    """What a run did: grid size, points found done, points finished now, failures (point, message)."""

    total: int
    resumed: int
    finished: int
    failures: tuple[tuple[Point, str], ...] = ()


def run_sweep(sweep: Sweep, path: str | Path, *, workers: int = 1, scheduler=None,
              quiet: bool = False) -> RunSummary:
    """Run the points of ``sweep`` not yet in results file ``path``; append each as it finishes.

    ``workers`` local processes, or ``scheduler``: a Dask scheduler address or a
    ``distributed.Client``. A point whose experiment raises is reported in the
    summary's failures and not stored, so a rerun retries it.
    """
    if scheduler is None and (not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"workers must be an integer >= 1, got {workers!r}")
    path = Path(path)
    grid = sweep.grid
    header = {HEADER_TAG: 1, "experiment": grid.experiment, "axes": {k: list(v) for k, v in grid.axes.items()},
              "figure": grid.figure, "keys": sweep.keys}
    with _open_store(path) as fd:
        previous, records = read_store(path)
        if previous is not None:
            _check_same_grid(previous, sweep, path)
        if previous != json.loads(json.dumps(header)):
            _append(fd, header)
        todo = [p for p in sweep.points if p.key not in records]
        resumed = len(sweep.points) - len(todo)
        failures = []
        target = sweep.target or experiment_target(grid.experiment)
        tasks = (_run_dask(target, todo, scheduler) if scheduler is not None
                 else _run_local(target, todo, workers))
        with closing(tasks), tqdm(total=len(sweep.points), initial=resumed, desc=grid.experiment,
                                  unit="pt", disable=quiet, file=sys.stderr, dynamic_ncols=True) as bar:
            for point, future in tasks:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise XbarError("a sweep worker process died; finished points are saved, "
                                    "rerun to resume") from None
                except Exception as exc:  # an experiment's failure is the point's, not the sweep's
                    failures.append((point, _one_line(exc)))
                else:
                    _append(fd, {"key": point.key, "params": point.params, "result": result})
                bar.update()
    return RunSummary(len(sweep.points), resumed, len(todo) - len(failures), tuple(failures))


def _check_same_grid(previous: dict, sweep: Sweep, path) -> None:
    """Refuse a grid that would hide results already in ``path``: another experiment, or fewer points.

    A grid may extend the stored one (more values, its points all kept) or redraw its
    figure; a different grid needs its own results file.
    """
    if previous["experiment"] != sweep.grid.experiment:
        raise ParameterError(f"results file {str(path)!r} holds a sweep of experiment "
                             f"{previous['experiment']!r}, not {sweep.grid.experiment!r}; "
                             "write this grid to another file (-o)")
    missing = len(set(previous["keys"]) - set(sweep.keys))
    if missing:
        raise ParameterError(f"results file {str(path)!r} holds a different grid: {missing} of its "
                             f"{len(previous['keys'])} points are not in this one; write this grid to "
                             "another file (-o), or extend the stored grid instead")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    return message if isinstance(exc, XbarError) else f"{type(exc).__name__}: {message}"


@contextmanager
def _one_blas_thread():
    """Environment for spawned workers: one BLAS/OpenMP thread each, restored afterwards."""
    saved = {k: os.environ.get(k) for k in _ONE_THREAD}
    os.environ.update(_ONE_THREAD)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run_local(target: str, todo: list[Point], workers: int):
    """Yield (point, future) as points finish on ``workers`` spawned processes.

    At most two tasks per worker are queued, so an interrupt leaves little in flight.
    Workers die with this process, also when it is killed (:func:`xbar.orphans.die_with_parent`).
    """
    if not todo:
        return
    with _one_blas_thread():
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=die_with_parent, initargs=(os.getpid(),))
        try:
            queue = iter(todo)
            running = {}

            def refill():
                for point in itertools.islice(queue, 2 * workers - len(running)):
                    running[pool.submit(run_point, target, point.params)] = point

            refill()
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f].index):
                    yield running.pop(future), future
                refill()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(target: str, todo: list[Point], scheduler):
    """Yield (point, future) as points finish on a Dask cluster (address or Client)."""
    if not todo:
        return
    from dask.distributed import Client, as_completed

    if isinstance(scheduler, Client):
        client, own = scheduler, False
    else:
        if not isinstance(scheduler, str):
            raise ParameterError(f"scheduler must be an address like tcp://host:8786 or a Client, got {scheduler!r}")
        try:
            client, own = Client(scheduler, timeout="20s"), True
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise XbarError(f"cannot reach the Dask scheduler at {scheduler!r}: {_one_line(exc)}") from None
    futures = {}
    try:
        futures = {client.submit(run_point, target, p.params, key=f"xbar-sweep-{p.key}"): p
                   for p in todo}
        for future in as_completed(futures):
            yield futures.pop(future), future
            future.release()
    finally:
        for future in futures.values():
            future.cancel()
        if own:
            client.close()
