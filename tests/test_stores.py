"""Every results store under one protocol (xbar.util.store): the sweep store, ``xbar program``'s
results.jsonl and the reproduction's points.jsonl refuse foreign files and links untouched, repair torn
tails, and survive two writers at once (no duplicate, no torn record)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xbar.cli import main
from xbar.experiments import paper, programming
from xbar.sweeps.store import SWEEP, open_sweep_store
from xbar.util.errors import ParameterError, XbarError
from xbar.util.store import open_store, read_store

ROOT = Path(__file__).resolve().parents[1]

FOREIGN = {
    "notes": b"my notes\nline two\n",
    "no newline": b"my precious notes, no trailing newline",
    "other jsonl": b'{"a": 1}\n{"key": "k", "accuracy": 0.5}\n',
    "binary": bytes(range(256)),
    "another kind of store": b'{"xbar_sweep":1,"experiment":"x","axes":{},"keys":[]}\n',
}


def program_cli(out) -> int:
    return main(["program", "--thickness", "1.6", "--limit", "5", "--quiet", "--out", str(out)])


def points_run(path):
    return paper.run_points([{"dataset": "digits", "seed": 0, "method": "full"}], path)


def sweep_run(path):
    with open_sweep_store(path) as store:
        store.append(SWEEP.header(experiment="crossbar", axes={}, figure={}, keys=[]))


@pytest.fixture
def no_work(monkeypatch):
    """Stores are checked before any work: make any work a failure."""
    monkeypatch.setattr(programming, "load", lambda *a, **k: pytest.fail("work began"))
    monkeypatch.setattr(paper.network, "trained", lambda *a, **k: pytest.fail("work began"))


def stores(tmp_path):
    """(name, path of the store, how to write it, the error its refusal is) for every results store."""
    out = tmp_path / "prog"
    out.mkdir()
    return [("program", out / "results.jsonl", lambda: program_cli(out)),
            ("points", tmp_path / "points.jsonl", lambda: points_run(tmp_path / "points.jsonl")),
            ("sweep", tmp_path / "sweep.jsonl", lambda: sweep_run(tmp_path / "sweep.jsonl"))]


def refused(run, capsys, *needles) -> None:
    """``run`` refuses: one stderr line from the command line, or a ParameterError from the API."""
    try:
        code = run()
    except ParameterError as exc:
        message = str(exc)
    else:
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
        message = err
    for needle in needles:
        assert needle in message, message


@pytest.mark.bad_input
@pytest.mark.parametrize("content", FOREIGN)
@pytest.mark.parametrize("store", ["program", "points", "sweep"])
def test_foreign_files_are_refused_untouched(tmp_path, capsys, no_work, store, content):
    (name, path, run), = [s for s in stores(tmp_path) if s[0] == store]
    data = b'{"xbar_points":1}\n' if (store, content) == ("sweep", "another kind of store") else FOREIGN[content]
    path.write_bytes(data)
    before = os.stat(path)
    refused(run, capsys, "is not an xbar", "refusing to read or change it")
    assert path.read_bytes() == data and os.stat(path).st_mtime_ns == before.st_mtime_ns


@pytest.mark.bad_input
@pytest.mark.parametrize("target", ["unrelated file", "store of the same kind", "missing file"])
@pytest.mark.parametrize("store", ["program", "points", "sweep"])
def test_links_are_refused(tmp_path, capsys, no_work, store, target):
    (name, path, run), = [s for s in stores(tmp_path) if s[0] == store]
    victim = tmp_path / "victim"
    content = {"unrelated file": b"precious\n", "missing file": None,
               "store of the same kind": {"program": b'{"xbar_program":1}\n', "points": b'{"xbar_points":1}\n',
                                          "sweep": FOREIGN["another kind of store"]}[store]}[target]
    if content is not None:
        victim.write_bytes(content)
    path.symlink_to(victim)
    refused(run, capsys, "is a symbolic link; refusing to write through it")
    if content is None:
        assert not victim.exists()
    else:
        assert victim.read_bytes() == content


@pytest.mark.bad_input
def test_a_store_that_is_a_folder_is_refused(tmp_path, capsys, no_work):
    (tmp_path / "prog" / "results.jsonl").mkdir(parents=True)
    refused(lambda: program_cli(tmp_path / "prog"), capsys, "not a regular file")


@pytest.mark.bad_input
@pytest.mark.parametrize("store", [programming.PROGRAM_STORE, paper.POINTS_STORE])
def test_a_torn_tail_is_repaired_and_the_next_record_stands_alone(tmp_path, store):
    path = tmp_path / "r.jsonl"
    with open_store(path, store) as w:
        w.ensure_header(store.header())
        w.append({"key": "a", "accuracy": 0.5})
    with open(path, "a") as f:
        f.write('{"key": "b", "accur')  # a writer killed mid-line
    assert set(read_store(path, store)[1]) <= {"a"}
    with open_store(path, store) as w:
        w.append({"key": "c", "accuracy": 0.25})
    lines = path.read_text().splitlines()
    assert lines[-1] == '{"key":"c","accuracy":0.25}' and all(json.loads(line) for line in lines)


@pytest.mark.bad_input
@pytest.mark.parametrize("line, message", [(b'{"xbar_program":2}\n', "xbar_program must be 1"),
                                           (b'{"xbar_program":1\n', "header is not valid JSON")])
def test_a_hand_edited_header_is_one_line(tmp_path, capsys, no_work, line, message):
    (tmp_path / "prog").mkdir()
    (tmp_path / "prog" / "results.jsonl").write_bytes(line)
    refused(lambda: program_cli(tmp_path / "prog"), capsys, message, "line 1")


WRITER = """
import sys, time
from pathlib import Path
kind, path = sys.argv[1], Path(sys.argv[2])
from xbar.experiments import paper, programming
def slow(record):
    time.sleep(0.3)
    return record
if kind == "program":
    programming.load = lambda *a, **k: type("D", (), {"x_test": [0] * 5, "name": "digits"})()
    programming.trained = lambda *a, **k: None
    programming.program_point = lambda net, data, point, *a: slow(dict(
        {f: 1 for f in programming.RECORD_FIELDS}, cells=point.n_cells, thickness_nm=point.thickness_nm))
    for name in ("report", "figure", "ramp_figure"):
        setattr(programming, name, lambda *a, **k: "")
    from xbar.cli import main
    sys.exit(main(["program", "--thickness", "1.6,1.9,2.2,2.6", "--cells", "1,2", "--quiet", "--out",
                   str(path.parent)]))
paper.network.trained = lambda *a, **k: None
paper.paper_point = lambda **point: slow({**point, "accuracy": 0.5})
from xbar.util.errors import XbarError
try:
    paper.run_points([{"dataset": "digits", "seed": s, "method": "full"} for s in range(8)], path)
except XbarError as exc:
    print(f"xbar: error: {exc}", file=sys.stderr)
    sys.exit(2)
"""


@pytest.mark.bad_input
@pytest.mark.parametrize("kind", ["program", "points"])
def test_two_writers_at_once_leave_no_duplicate_and_no_torn_record(tmp_path, kind):
    path = tmp_path / "out" / ("results.jsonl" if kind == "program" else "points.jsonl")
    path.parent.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, kind, str(path)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    codes = sorted(r[2] for r in results)
    assert codes in ([0, 0], [0, 2]), results
    for _, err, code in results:
        if code == 2:  # the second writer is refused at once, in one line
            assert err.count("\n") == 1 and "is in use by another running" in err, err
    data = path.read_bytes()
    assert data.endswith(b"\n")
    entries = [json.loads(line) for line in data.splitlines()]
    keys = [e["key"] for e in entries[1:]]
    assert len(keys) == len(set(keys)) == 8 and list(entries[0]) == [f"xbar_{kind}"]
    assert sum("key" not in e for e in entries) == 1  # one header


def test_a_second_writer_is_refused_while_the_first_holds_the_store(tmp_path):
    path = tmp_path / "r.jsonl"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    first = subprocess.Popen([sys.executable, "-c", WRITER, "points", str(path)], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (path.exists() and path.read_bytes().count(b"\n") >= 2) and time.monotonic() < deadline:
        time.sleep(0.02)  # the first writer holds the lock and has stored a point
    with pytest.raises(XbarError, match="is in use by another running reproduction"):
        with open_store(path, paper.POINTS_STORE):
            pass
    assert first.wait(timeout=60) == 0
    assert len(read_store(path, paper.POINTS_STORE)[1]) == 8
