"""Sweeps under attack: code named by a grid file, foreign and hand-edited results files, mixed
grids, huge grids, bad schedulers and figure axes, and workers outliving a killed parent."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from xbar import sweeps as sweep
from xbar.cli import main
from xbar.util.errors import ParameterError
from xbar.sweeps.grid import Grid, plan
from xbar.sweeps.run import run_sweep

SMALL = ["-e", "crossbar", "-p", "rows=3", "-p", "cols=2", "-p", "batch=1", "--quiet", "-w", "1"]


def one_line_error(capsys, code, *needles):
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


# --- Code execution through a grid file --------------------------------------------------

@pytest.mark.bad_input
@pytest.mark.parametrize("experiment", ["os:system", "subprocess:getoutput", "builtins:exec",
                                        "shutil:rmtree", "tests.helpers:anything"])
def test_grid_file_cannot_name_code_to_run(tmp_path, capsys, experiment):
    marker = tmp_path / "pwned"
    grid = tmp_path / "evil.toml"
    grid.write_text(f'experiment = "{experiment}"\n[params]\ncommand = ["touch {marker}"]\n')
    results = tmp_path / "r.jsonl"
    one_line_error(capsys, main(["sweep", str(grid), "-o", str(results), "--quiet"]),
                   "refused unless allowed explicitly", "--allow-import")
    assert not marker.exists() and not results.exists()


@pytest.mark.bad_input
def test_module_is_not_even_imported_without_opt_in(tmp_path, capsys, monkeypatch):
    (tmp_path / "sideeffect.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\n"
                                            "def point(x: int = 0):\n    return {{'y': x}}\n".replace("{{", "{").replace("}}", "}"))
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(["sweep", "-e", "sideeffect:point", "-p", "x=1", "-o", str(tmp_path / "r.jsonl"), "--quiet"])
    one_line_error(capsys, code, "--allow-import sideeffect")
    assert not (tmp_path / "imported").exists()
    with pytest.raises(ParameterError, match="allow_import"):
        plan(Grid("sideeffect:point", {"x": (1,)}))
    # An allowed module is a different one: the opt-in names modules exactly.
    with pytest.raises(ParameterError, match="refused"):
        plan(Grid("sideeffect:point", {"x": (1,)}), allow_import=["sideeffect2", "side"])


def test_explicit_opt_in_runs_user_code(tmp_path, capsys, monkeypatch):
    (tmp_path / "mysweep.py").write_text("def point(x: int = 0):\n    return {'y': 2 * x}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    results = tmp_path / "r.jsonl"
    assert main(["sweep", "-e", "mysweep:point", "--allow-import", "mysweep", "-p", "x=1,2",
                 "-w", "1", "-o", str(results), "--quiet"]) == 0
    assert [r["result"]["y"] for r in sweep.load_records(results)] == [2, 4]
    assert len(plan(Grid("mysweep:point", {"x": (3,)}), allow_import="mysweep").points) == 1


@pytest.mark.bad_input
@pytest.mark.parametrize("name", ["os:", ":system", "os:system()", "os;rm -rf:x", "../x:y", "nosuch"])
def test_malformed_experiment_names(name):
    with pytest.raises(ParameterError):
        plan(Grid(name, {}), allow_import=[name.partition(":")[0]])


# --- Foreign, hand-edited and mixed results files -----------------------------------------

FOREIGN = {
    "notes_with_newline": b"my notes\nline two\n",
    "notes_without_newline": b"my precious notes, no trailing newline",
    "single_line_no_newline": b"x",
    "binary": bytes(range(256)) * 4,
    "other_jsonl": b'{"a": 1}\n{"b": 2}\n',
    "json_lookalike": b'{"xbar_sweepX":1}\n',
    "spaced_header": b'{ "xbar_sweep": 1, "experiment": "crossbar", "axes": {}, "keys": []}\n',
    "utf16": "experiment".encode("utf-16"),
}


@pytest.mark.bad_input
@pytest.mark.parametrize("name", FOREIGN)
def test_foreign_file_is_never_touched(tmp_path, capsys, name):
    path = tmp_path / "notes.txt"
    path.write_bytes(FOREIGN[name])
    before = os.stat(path)
    one_line_error(capsys, main(["sweep", *SMALL, "-p", "cells=1", "-o", str(path)]),
                   "not an xbar sweep results file")
    for args in (["--status", str(path)], ["--export", str(path)]):
        one_line_error(capsys, main(["sweep", *args]), "not an xbar sweep results file")
    assert path.read_bytes() == FOREIGN[name]
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns
    with pytest.raises(ParameterError, match="not an xbar sweep results file"):
        run_sweep(plan(Grid("crossbar", {"rows": (2,), "cols": (2,), "batch": (1,)})), path, quiet=True)
    assert path.read_bytes() == FOREIGN[name]


@pytest.mark.bad_input
def test_results_path_that_is_not_a_regular_file(tmp_path, capsys):
    one_line_error(capsys, main(["sweep", *SMALL, "-p", "cells=1", "-o", str(tmp_path)]), "not a regular file")


@pytest.fixture
def stored(tmp_path):
    path = tmp_path / "r.jsonl"
    assert main(["sweep", *SMALL, "-p", "cells=1,2", "-o", str(path)]) == 0
    return path


@pytest.mark.bad_input
@pytest.mark.parametrize("args, message", [
    (["-p", "cells=3"], "2 of its 2 points are not in this one"),
    (["-p", "cells=1", "-p", "wire_ohm=2"], "2 of its 2 points are not in this one"),
    (["-e", "variation", "-p", "rows=3", "-p", "trials=1"], "holds a sweep of experiment 'crossbar'"),
])
def test_a_different_grid_is_not_mixed_in(stored, capsys, args, message):
    before = stored.read_bytes()
    capsys.readouterr()
    one_line_error(capsys, main(["sweep", *SMALL, *args, "-o", str(stored)]), message)
    assert stored.read_bytes() == before


def _edit_header(path, edit):
    lines = path.read_bytes().splitlines(keepends=True)
    header = json.loads(lines[0])
    lines[0] = edit(header)
    path.write_bytes(b"".join(lines))


@pytest.mark.bad_input
@pytest.mark.parametrize("edit, message", [
    (lambda h: {**h, "keys": 5}, "keys must be a list"),
    (lambda h: {**h, "keys": [1, 2]}, "keys must be a list"),
    (lambda h: {**h, "axes": [1]}, "axes must map names to lists"),
    (lambda h: {**h, "axes": {"cells": 1}}, "axes must map names to lists"),
    (lambda h: {**h, "experiment": None}, "experiment must be a string"),
    (lambda h: {k: v for k, v in h.items() if k != "experiment"}, "experiment must be a string"),
    (lambda h: {**h, "xbar_sweep": 2}, "xbar_sweep must be 1"),
    (lambda h: {**h, "figure": "no"}, "figure must be a table"),
    ("broken", "sweep header is not valid JSON"),
])
def test_hand_edited_header_is_one_line(stored, capsys, edit, message):
    capsys.readouterr()
    if edit == "broken":
        _edit_header(stored, lambda h: json.dumps(h)[:-5].encode() + b"\n")
    else:
        _edit_header(stored, lambda h: json.dumps(edit(h), separators=(",", ":")).encode() + b"\n")
    before = stored.read_bytes()
    for args in (["--status", str(stored)], ["--export", str(stored)],
                 [*SMALL, "-p", "cells=1,2", "-o", str(stored)]):
        one_line_error(capsys, main(["sweep", *args]), message, "line 1")
    assert stored.read_bytes() == before


# --- Grid files and sizes -----------------------------------------------------------------

@pytest.mark.bad_input
@pytest.mark.parametrize("content, message", [
    (b'experiment = "crossbar"\n# caf\xe9 in latin-1\n', "not UTF-8"),
    (b"\xff\xfe\x00\x00", "not UTF-8"),
    (b'experiment = "crossbar"\n[params]\nrows = [[1, 2]]\n', "must be a number, string, bool or none"),
    (b'experiment = "crossbar"\n[params]\nrows = {a = 1}\n', "must be a number, string, bool or none"),
    (b'experiment = "crossbar"\n[params]\nrows = 1979-05-27\n', "must be a number, string, bool or none"),
    (b'experiment = 5\n', "needs experiment"),
    (b'experiment = "crossbar"\nfigure = 3\n', "figure must be a table"),
])
def test_bad_grid_files(tmp_path, capsys, content, message):
    grid = tmp_path / "g.toml"
    grid.write_bytes(content)
    one_line_error(capsys, main(["sweep", str(grid), "-o", str(tmp_path / "r.jsonl"), "--quiet"]), message)
    assert not (tmp_path / "r.jsonl").exists()


@pytest.mark.bad_input
def test_grid_folder_and_huge_grid_file(tmp_path, capsys):
    one_line_error(capsys, main(["sweep", str(tmp_path), "--quiet"]), "is a folder")
    big = tmp_path / "big.toml"
    big.write_bytes(b'experiment = "crossbar"\n' + b"#" * (sweep.MAX_GRID_BYTES + 1) + b"\n")
    one_line_error(capsys, main(["sweep", str(big), "--quiet"]), "too large for a grid file")


@pytest.mark.bad_input
@pytest.mark.parametrize("params, message", [
    (["-p", "rows=1:100000:1", "-p", "cols=1:100000:1"], "has 10,000,000,000 points"),
    (["-p", "seed=0:10000000000:1"], "range for seed has 10,000,000,001 points"),
    (["-p", "v_read=0:1e9:1e-3"], "range for v_read has"),
    (["-p", "seed=0:inf:1"], "needs finite numbers"),
])
def test_huge_grids_are_refused_fast_with_the_count(tmp_path, capsys, params, message):
    plan(Grid("crossbar", {"rows": (2,)}))  # imports done, so only the refusal is timed
    start = time.perf_counter()
    code = main(["sweep", "-e", "crossbar", *params, "-o", str(tmp_path / "r.jsonl"), "--quiet"])
    assert time.perf_counter() - start < 60.0  # catches a hang on building 1e10 points; ms on a quiet machine
    one_line_error(capsys, code, message)


def test_point_limit_is_settable(monkeypatch):
    monkeypatch.setenv("XBAR_MAX_POINTS", "3")
    with pytest.raises(ParameterError, match="has 4 points, more than the limit of 3"):
        plan(Grid("crossbar", {"cells": (1, 2), "rows": (2, 3)}))
    monkeypatch.setenv("XBAR_MAX_POINTS", "lots")
    with pytest.raises(ParameterError, match="XBAR_MAX_POINTS must be a positive integer"):
        plan(Grid("crossbar", {"cells": (1,)}))


@pytest.mark.bad_input
@pytest.mark.parametrize("address", ["not-an-address", "tcp://", "tcp://256.1.1.1:notaport"])
def test_bad_scheduler_address(tmp_path, capsys, address):
    code = main(["sweep", *SMALL, "-p", "cells=1", "-o", str(tmp_path / "r.jsonl"), "--scheduler", address])
    one_line_error(capsys, code, "cannot reach the Dask scheduler")


@pytest.mark.bad_input
@pytest.mark.parametrize("figure, message", [
    ('kind = "metric_lines"\nx = "sense"\nhue = "cells"\nz = "rms_rel"', "x = 'sense' is not numeric"),
    ('kind = "metric_lines"\nx = "cells"\nhue = "sense"\nz = "rms_rel"', "hue = 'sense' is not numeric"),
    ('kind = "metric_lines"\nx = 3\nhue = "cells"\nz = "rms_rel"', "x must name a field"),
    ('kind = "metric_lines"\nx = "cells"\nhue = "cells"\nz = "rms_rel"\nlogx = "yes"', "logx must be true or false"),
    ('kind = ["metric_lines"]', "unknown figure kind"),
    ('kind = "metric_lines"\nx = "cells"\nhue = "cells"\nz = "rms_rel"\ncolour = "red"', "unexpected keyword"),
])
def test_bad_figure_axes_are_refused_before_running(tmp_path, capsys, figure, message):
    grid = tmp_path / "g.toml"
    grid.write_text('experiment = "crossbar"\n[params]\nrows = 3\ncols = 2\nbatch = 1\ncells = [1, 2]\n'
                    f'sense = ["tia", "resistor"]\n[figure]\n{figure}\n')
    results = tmp_path / "r.jsonl"
    one_line_error(capsys, main(["sweep", str(grid), "-o", str(results), "--figure", str(tmp_path / "f"),
                                 "--quiet"]), message)
    assert not results.exists()


@pytest.mark.bad_input
def test_figure_of_a_string_result_field(tmp_path, capsys):
    from xbar.sweeps.figures import draw
    records = [{"key": str(i), "params": {"x": i}, "result": {"label": "a", "v": 1.0}} for i in range(2)]
    with pytest.raises(ParameterError, match="figure axis 'label' must be a numeric field"):
        draw(records, {"kind": "metric_lines", "x": "x", "hue": "label", "z": "v"})


# --- Workers die with their parent -----------------------------------------------------------

def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_when_the_parent_is_killed(tmp_path):
    (tmp_path / "napper.py").write_text(textwrap.dedent("""
        import time
        def nap(i: int = 0):
            time.sleep(60)
            return {"i": i}
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "xbar.cli", "sweep", "-e", "napper:nap",
                             "--allow-import", "napper", "-p", "i=0:5:1", "-w", "2", "--quiet",
                             "-o", str(tmp_path / "r.jsonl")], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers = []
        while time.monotonic() < deadline:
            workers = [k for k in _children(proc.pid) if "spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes().decode(errors="replace")] \
                if _alive(proc.pid) else []
            if len(workers) == 2:
                break
            time.sleep(0.1)
        assert len(workers) == 2, "the sweep's two workers never started"
        time.sleep(1.0)  # let the workers finish their initializer
        os.kill(proc.pid, signal.SIGKILL)  # the parent alone, not its process group
        proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(map(_alive, workers)):
            time.sleep(0.05)
        assert not any(map(_alive, workers)), "workers outlived their killed parent"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
