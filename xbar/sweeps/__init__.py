"""Parameter sweeps: any registered experiment over a grid, resumable, on local processes or Dask.

The engine's parts: :mod:`~xbar.sweeps.registry` (which experiments may run),
:mod:`~xbar.sweeps.grid` (grids and points), :mod:`~xbar.sweeps.store` (the results file),
:mod:`~xbar.sweeps.run` (execution) and :mod:`~xbar.sweeps.figures`. The names below are the
engine's public API.
"""

from xbar.sweeps.grid import MAX_POINTS, Grid, load_grid, parse_param, plan, point_key, shipped_grids, with_axes
from xbar.sweeps.registry import EXPERIMENTS, MAX_GRID_BYTES
from xbar.sweeps.run import run_sweep
from xbar.sweeps.store import grid_of, load_records, sweep_status, write_csv

__all__ = ["EXPERIMENTS", "MAX_GRID_BYTES", "MAX_POINTS", "Grid", "grid_of", "load_grid", "load_records",
           "parse_param", "plan", "point_key", "run_sweep", "shipped_grids", "sweep_status", "with_axes", "write_csv"]
