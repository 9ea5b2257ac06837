"""The experiments a sweep may run: names -> "module:function", and calling one point.

Security: a grid file names experiments, not code. Only :data:`EXPERIMENTS` run unless the
caller allows a module explicitly (``plan(grid, allow_import=[...])``, ``--allow-import``).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path


from xbar.util.errors import ParameterError
from xbar.util.files import LIMITS


#: Experiment name -> "module:function", imported only when a sweep uses it. A grid file
#: may name only these; other "module:function" experiments run only when the caller
#: allows their module explicitly (``allow_import``; ``xbar sweep --allow-import MODULE``),
#: because importing and calling a function named in a shared file is running its code.
EXPERIMENTS: dict[str, str] = {
    "crossbar": "xbar.experiments.crossbar:crossbar_point",
    "variation": "xbar.experiments.crossbar:variation_point",
    "paper": "xbar.experiments.paper:paper_point",
    "inference": "xbar.experiments.circuits:inference_point",
    "design": "xbar.experiments.explore:design_point",
}

#: Folder of the grids that ship with xbar; ``xbar sweep NAME`` runs ``NAME.toml`` from it.
GRIDS_DIR = Path(__file__).parent / "grids"

#: Default most points in one sweep (see :func:`max_points`): the point list, and the
#: results header listing every key, are built in memory before the first point runs.
MAX_POINTS = 100_000

#: Largest grid file read, in bytes: a grid is a few lines of TOML.
MAX_GRID_BYTES = LIMITS["grid file"]

#: Header field that marks a results file's grid line.
HEADER_TAG = "xbar_sweep"


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


def describe_experiment(name: str) -> list[str]:
    """Lines describing registered experiment ``name``: what it computes and each parameter with default and unit."""
    import inspect

    from xbar.sweeps.field_labels import describe
    if name not in EXPERIMENTS:
        raise ParameterError(f"unknown experiment {name!r}; experiments: {', '.join(EXPERIMENTS)}")
    func = experiment_function(name)
    doc = (inspect.getdoc(func) or "").split("\n\n")[0].replace("\n", " ")
    lines = [f"{name} ({EXPERIMENTS[name]}): {doc}", "", f"{'parameter':<20} {'default':<14} meaning (unit)"]
    for p in inspect.signature(func).parameters.values():
        default = "(required)" if p.default is inspect.Parameter.empty else repr(p.default)
        lines.append(f"{p.name:<20} {default:<14} {describe(p.name)}")
    return lines
