"""Sweeps: grid validation before any work, stable keys, the store's resume (also after kill -9),
the same results from 1 and 2 local workers and a Dask LocalCluster, ngspice inside workers."""

import csv
import hashlib
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from xbar import sweeps as sweep
from xbar.cli import main
from xbar.sweeps.grid import Grid, plan
from xbar.sweeps.store import load_records, read_store, sweep_status
from xbar.sweeps.run import run_sweep

#: 3 cells x 3 wire resistances x 2 backends on tiny arrays: 18 quick points, ngspice included.
SMALL = Grid("crossbar", {"cells": (1, 2, 3), "wire_ohm": (0, 1, 5), "backend": ("native", "ngspice"),
                          "rows": (4,), "cols": (3,), "batch": (2,)})


def values(path):
    return [(r["key"], r["params"], r["result"]) for r in load_records(path)]


def test_keys_are_canonical_and_stable():
    a = plan(Grid("crossbar", {"wire_ohm": (0,), "cells": (2,)})).points[0]
    b = plan(Grid("crossbar", {"cells": (2,), "wire_ohm": (0.0,)})).points[0]
    assert a.key == b.key and a.params["wire_ohm"] == 0.0 and isinstance(a.params["wire_ohm"], float)
    assert a.params["rows"] == 16  # defaults are filled in and enter the key
    assert sweep.point_key("x", {"b": 1, "a": 0.5}) == sweep.point_key("x", {"a": 0.5, "b": 1})
    # The canonical form is part of the results format: changing it would orphan stored results.
    canonical = b'{"experiment":"crossbar","params":{"cells":2,"wire_ohm":0.5}}'
    assert sweep.point_key("crossbar", {"wire_ohm": 0.5, "cells": 2}) == hashlib.sha256(canonical).hexdigest()


def test_parse_param_lists_and_ranges():
    assert sweep.parse_param("cells=1,2,3") == ("cells", (1, 2, 3))
    assert sweep.parse_param("wire_ohm=0,0.5,1") == ("wire_ohm", (0, 0.5, 1))
    assert sweep.parse_param("sense=tia,resistor") == ("sense", ("tia", "resistor"))
    assert sweep.parse_param("seed=0:6:2") == ("seed", (0, 2, 4, 6))
    assert sweep.parse_param("tmr=0.6:1.2:0.2") == ("tmr", (0.6, 0.8, 1.0, 1.2))
    assert sweep.parse_param("flag=true,none") == ("flag", (True, None))


@pytest.mark.parametrize("args, message", [
    (["-e", "nosuch", "-p", "rows=2"], "unknown experiment 'nosuch'"),
    (["-e", "crossbar", "-p", "rowz=2"], "has no parameter 'rowz'"),
    (["-e", "crossbar", "-p", "rows=2.5"], "parameter 'rows' of experiment 'crossbar' must be int, got 2.5"),
    (["-e", "crossbar", "-p", "sense=tai"], "must be one of 'tia', 'resistor', got 'tai'"),
    (["-e", "crossbar", "-p", "cells="], "axis 'cells' of experiment 'crossbar' is empty"),
    (["-e", "crossbar", "-p", "cells=1,1"], "repeats the value 1"),
    (["-e", "crossbar", "-p", "wire_ohm=nan"], "must be finite"),
    (["-e", "crossbar", "-p", "rows"], "must look like name=1,2,3"),
    (["GRID"], "unknown top-level key 'experimnet'"),
])
def test_bad_grid_is_refused_before_anything_runs(tmp_path, capsys, args, message):
    grid = tmp_path / "bad.toml"
    grid.write_text('experimnet = "crossbar"\n[params]\nrows = [2]\n')
    results = tmp_path / "results.jsonl"
    args = [str(grid) if a == "GRID" else a for a in args]
    assert main(["sweep", *args, "-o", str(results), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not results.exists()


def test_same_results_from_one_and_two_workers_and_dask(tmp_path):
    from dask.distributed import LocalCluster

    points = plan(SMALL)
    one, two, dask = tmp_path / "one.jsonl", tmp_path / "two.jsonl", tmp_path / "dask.jsonl"
    assert run_sweep(points, one, workers=1, quiet=True).finished == 18
    assert run_sweep(points, two, workers=2, quiet=True).finished == 18
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        assert run_sweep(points, dask, scheduler=cluster.scheduler_address, quiet=True).finished == 18
    assert values(one) == values(two) == values(dask)
    assert [v[0] for v in values(one)] == points.keys  # grid order, whatever the finishing order
    # ngspice ran inside the workers and agrees with the native solver.
    by = {(r["params"]["cells"], r["params"]["wire_ohm"], r["params"]["backend"]): r["result"]
          for r in load_records(dask)}
    for (cells, wire, backend), result in by.items():
        if backend == "ngspice":
            native = by[cells, wire, "native"]
            assert abs(result["rms_rel"] - native["rms_rel"]) <= 1e-9 * max(native["rms_rel"], 1e-3)
            assert abs(result["mean_ratio"] - native["mean_ratio"]) <= 1e-9


def test_resume_after_kill_9(tmp_path):
    args = ["-e", "variation", "-p", "seed=0:11:1", "-p", "rows=32", "-p", "cols=32", "-p", "trials=6",
            "-w", "2", "--quiet"]
    killed, clean = tmp_path / "killed.jsonl", tmp_path / "clean.jsonl"
    cmd = [sys.executable, "-m", "xbar.cli", "sweep", *args]
    proc = subprocess.Popen(cmd + ["-o", str(killed)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if killed.exists() and killed.read_bytes().count(b"\n") >= 3:  # header + 2 records
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, mid-run
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = sweep_status(killed).done
    assert 2 <= done < 12, f"kill landed outside the run ({done} of 12 points done)"

    subprocess.run(cmd + ["-o", str(killed)], check=True, timeout=60)
    subprocess.run(cmd + ["-o", str(clean)], check=True, timeout=60)
    lines = [json.loads(ln) for ln in killed.read_text().splitlines()]
    keys = [e["key"] for e in lines if "key" in e]
    assert len(keys) == len(set(keys)) == 12  # nothing lost, nothing duplicated
    assert values(killed) == values(clean)


def test_torn_and_garbage_lines_are_ignored_and_repaired(tmp_path):
    path = tmp_path / "r.jsonl"
    points = plan(Grid("crossbar", {"cells": (1, 2), "rows": (3,), "cols": (2,), "batch": (1,)}))
    run_sweep(points, path, quiet=True)
    first, second = path.read_text().splitlines(keepends=True)[1:]
    header = path.read_text().splitlines(keepends=True)[0]
    path.write_text(header + "not json\n" + first + first + second[:25])  # a duplicate and a torn tail
    _, records = read_store(path)
    assert list(records) == [points.points[0].key]
    assert sweep_status(path).done == 1
    summary = run_sweep(points, path, quiet=True)
    assert (summary.resumed, summary.finished) == (1, 1)
    assert path.read_text().endswith(second) and sweep_status(path).remaining == 0


def test_grid_change_appends_header_and_reuses_records(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    small = ["sweep", "-e", "crossbar", "-p", "rows=3", "-p", "cols=2", "-p", "batch=1", "--quiet", "-w", "1",
             "-o", str(path)]
    assert main(small + ["-p", "cells=1,2"]) == 0
    assert main(small + ["-p", "cells=1,2,3"]) == 0
    assert "3 points, 2 already done, 1 finished now" in capsys.readouterr().out
    assert main(["sweep", "--status", str(path)]) == 0
    assert "3 of 3 points done, 0 remaining" in capsys.readouterr().out
    assert main(["sweep", "--export", str(path)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0])[:4] == ["rows", "cols", "batch", "cells"] and "rms_rel" in rows[0]
    assert [r["cells"] for r in rows] == ["1", "2", "3"]


def test_failed_points_are_reported_not_stored(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    code = main(["sweep", "-e", "crossbar", "-p", "thickness_nm=1.9,3.0", "-p", "rows=3", "-p", "cols=2",
                 "--quiet", "-w", "1", "-o", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "1 of 2 points failed" in err and "thickness must be a number in 1.6..2.6 nm" in err
    assert sweep_status(path).done == 1


def test_shipped_grids_are_valid():
    fig5de = plan(sweep.load_grid("fig5de"))
    assert len(fig5de.points) == 2 * 3 * 6 * 21
    assert {p.params["tmr"] for p in fig5de.points} >= {0.6, 2.6}
    wire = sweep.load_grid("wire")
    assert wire.axes["wire_ohm"] == (0, 0.5, 1, 2, 5, 10)
    module = sweep.EXPERIMENTS[wire.experiment].partition(":")[0]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not in this checkout")
    assert len(plan(wire).points) == 2 * 3 * 6


def test_contour_figure_from_records():
    from xbar.sweeps.figures import draw

    records = [{"key": str(i), "params": {"dataset": "digits", "tmr": t, "n_cells": n, "seed": s},
                "result": {"accuracy": 0.8 + 0.01 * n + 0.001 * s}}
               for i, (t, n, s) in enumerate((t, n, s) for t in (0.6, 1.0, 1.4) for n in (1, 2, 3) for s in (0, 1))]
    figures = draw(records, sweep.load_grid("fig5de").figure)
    assert list(figures) == ["digits"] and figures["digits"].axes
