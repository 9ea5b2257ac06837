"""Sweep grids: one axis of values per parameter, validated against the experiment and expanded into points.

A sweep is a :class:`Grid` over an experiment, a pure function ``f(**params) -> dict``
found by name in :data:`xbar.sweeps.registry.EXPERIMENTS`. :func:`plan` validates the whole grid
against the function's signature before any work starts and expands it into points. Each
point's key is the sha256 of the canonical JSON of the experiment name and all its parameters
(defaults filled in), so a key names one computation whatever grid or run it came from. Keys
name parameters, not code: after changing what an experiment computes, use a fresh results file.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from xbar.util.errors import ParameterError
from xbar.util.files import read_toml
from xbar.sweeps.registry import (
    GRIDS_DIR,
    MAX_POINTS,
    _is_target,
    _load_target,
    experiment_target,
)


# --- Grids -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """A sweep's definition: ``axes`` maps each parameter to its values, in sweep order.

    ``figure`` optionally describes the figure drawn from the results
    (see :func:`xbar.sweeps.figures.draw`).
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
            from xbar.sweeps.figures import check
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
        """Every point's key, in grid order."""
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
    if not path.exists() and not path.is_symlink():
        raise ParameterError(f"no grid file {str(spec)!r} and no shipped grid of that name "
                             f"(shipped: {', '.join(shipped_grids())})")
    data = read_toml(path, "grid file")
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
