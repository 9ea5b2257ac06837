"""Every ngspice call under one runner: one time limit (--timeout, $XBAR_NGSPICE_TIMEOUT, the probe
included), the whole process group killed, no folder left; and stale litter removed, only xbar's.

The stand-in ngspice is for these error paths only (never for agreement): it records its own pid
and that of a background child it starts, then hangs; ``-v`` answers at once in mode ``hang-run``.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from xbar.util.errors import SolverError

from stand_ins import FAKE_NGSPICE, KILLED_WRITER

#: How much later than its limit a stopped run may end (the issue's bound).
SLACK_S = 2.0

COMMANDS = {
    "solve": ["solve", "--backend", "ngspice", "--rows", "2", "--cols", "2"],
    "settle": ["settle", "--backend", "ngspice", "--rows", "2", "--cols", "2"],
    "infer": ["infer", "--backend", "ngspice", "--limit", "2", "--quiet", "--tile", "32"],
    "doctor": ["doctor"],
}


@pytest.fixture
def fake(tmp_path):
    """Environment with the hanging stand-in as $XBAR_NGSPICE and a private temporary folder."""
    exe = tmp_path / "fake-ngspice"
    exe.write_text(FAKE_NGSPICE)
    exe.chmod(0o755)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, XBAR_NGSPICE=str(exe), TMPDIR=str(tmp), FAKE_PIDS=str(tmp_path / "pids"),
               FAKE_MODE="hang", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    env.pop("XBAR_NGSPICE_TIMEOUT", None)
    yield env
    for pid in fake_pids(env):  # never leave a stand-in running, whatever the test found
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def fake_pids(env) -> list[int]:
    path = Path(env["FAKE_PIDS"])
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    """True for a running process (a zombie awaiting its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def left_behind(env) -> tuple[list[str], list[int]]:
    """xbar folders in the private temporary folder, and stand-in processes still running."""
    deadline = time.monotonic() + 1.0  # the reaper of an orphaned child may take a moment
    while any(alive(p) for p in fake_pids(env)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return sorted(os.listdir(env["TMPDIR"])), [p for p in fake_pids(env) if alive(p)]


def start(args, env, tmp_path):
    argv = [sys.executable, "-m", "xbar.cli", *args]
    if args[0] == "infer":
        argv += ["--out", str(tmp_path / "infer")]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_fake(proc, env) -> float:
    """Time at which the stand-in started (polled), or a failure if the command ended first."""
    deadline = time.monotonic() + 120
    while not fake_pids(env):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the stand-in ngspice never started: {proc.communicate()}")
        time.sleep(0.02)
    return time.monotonic()


#: (command, stand-in mode): the probe hangs (``hang``) or the run after it (``hang-run``); settle runs no probe,
#: infer's probe is solve's.
CALLS = [("solve", "hang"), ("solve", "hang-run"), ("settle", "hang"), ("infer", "hang-run"), ("doctor", "hang"),
         ("doctor", "hang-run")]


@pytest.mark.bad_input
@pytest.mark.parametrize("limit_from", ["option", "environment"])
@pytest.mark.parametrize("command, mode", CALLS)
def test_every_ngspice_call_honours_the_time_limit(tmp_path, fake, command, mode, limit_from):
    limit = 1.0
    env = dict(fake, FAKE_MODE=mode)
    args = list(COMMANDS[command])
    if limit_from == "option":
        args += ["--timeout", str(limit)]
    else:
        env["XBAR_NGSPICE_TIMEOUT"] = str(limit)
    proc = start(args, env, tmp_path)
    began = wait_for_fake(proc, env)
    if command == "doctor":  # the doctor reports the probe's failure and goes on with its other checks
        out, err = proc.communicate(timeout=60)
        assert "did not finish within 1 s" in out and time.monotonic() - began <= 30
    else:  # timed to the error line: Python's own exit after it takes ~1-2 s more on a loaded machine
        err = proc.stderr.readline()
        took = time.monotonic() - began
        assert err == ("xbar: error: ngspice did not finish within 1 s (set --timeout or XBAR_NGSPICE_TIMEOUT "
                       "to allow more)\n") and took <= limit + SLACK_S, (command, took, err)
        _, rest = proc.communicate(timeout=60)
        assert proc.returncode == 2 and rest == ""
    assert left_behind(env) == ([], [])


@pytest.mark.bad_input
@pytest.mark.parametrize("command, how", [(c, "SIGTERM") for c in COMMANDS] + [("solve", "SIGINT")])
def test_a_terminated_xbar_leaves_no_folder_and_no_process(tmp_path, fake, command, how):
    env = dict(fake, FAKE_MODE="hang" if command == "doctor" else "hang-run")
    proc = start(COMMANDS[command], env, tmp_path)
    wait_for_fake(proc, env)
    assert [n for n in os.listdir(env["TMPDIR"]) if n.startswith(f"xbar-ngspice-{proc.pid}-")]
    proc.send_signal(getattr(signal, how))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "Traceback" not in err
    assert left_behind(env) == ([], [])


@pytest.mark.bad_input
def test_the_api_calls_honour_the_limit_and_the_variable(tmp_path, fake, monkeypatch):
    from xbar.array.circuit import build_circuit
    from xbar.array.crossbar import Crossbar
    from xbar.array.write_circuit import WritePath, build_write_circuit
    from xbar.device.compound import CompoundMTJ
    from xbar.device.junction import MTJ
    from xbar.device.library import library_device
    from xbar.solvers.ngspice import NgspiceSolver, ngspice_build
    from xbar.solvers.ngspice_tran import ngspice_operating_point, ngspice_transient
    from xbar.solvers.write import ngspice_pulse
    for name in ("XBAR_NGSPICE", "TMPDIR", "FAKE_PIDS", "FAKE_MODE"):
        monkeypatch.setenv(name, fake[name])
    monkeypatch.setattr("tempfile.tempdir", None)
    circuit = build_circuit(Crossbar(CompoundMTJ(MTJ(10e3, 25e3), 1), np.eye(2, dtype=int)))
    write = build_write_circuit(library_device(thickness_nm=2.2, n_cells=1), WritePath())
    calls = {
        "probe": lambda **kw: ngspice_build(**kw),
        "solve": lambda **kw: NgspiceSolver(circuit, **kw).solve([[0.1, 0.05]]),
        "transient": lambda **kw: ngspice_transient(circuit, [0.1, 0.05], 1e-9, 1e-11, 1e-11, **kw),
        "operating point": lambda **kw: ngspice_operating_point(circuit, [0.1, 0.05], **kw),
        "write pulse": lambda **kw: ngspice_pulse(write, 1.0, 1e-9, **kw),
    }
    for name, call in calls.items():
        for limit_from in ("argument", "environment"):
            kwargs = {"timeout_s": 0.5} if limit_from == "argument" else {}
            monkeypatch.setenv("XBAR_NGSPICE_TIMEOUT", "100" if kwargs else "0.5")
            began = time.monotonic()
            with pytest.raises(SolverError, match=r"did not finish within 0\.5 s"):
                call(**kwargs)
            assert time.monotonic() - began <= 0.5 + SLACK_S, (name, limit_from)
            assert left_behind(fake) == ([], []), (name, limit_from)


@pytest.mark.bad_input
def test_litter_of_a_killed_run_is_removed_by_the_next_and_nothing_else(tmp_path, fake):
    env = dict(fake, FAKE_MODE="hang-run")
    proc = start(COMMANDS["infer"], env, tmp_path)
    wait_for_fake(proc, env)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    tmp = Path(env["TMPDIR"])
    litter = [p.name for p in tmp.iterdir()]
    assert len(litter) == 1 and litter[0].startswith(f"xbar-ngspice-{proc.pid}-")  # SIGKILL runs no cleanup
    deadline = time.monotonic() + 5
    while alive(fake_pids(env)[0]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(fake_pids(env)[0])  # ...but the kernel killed the stand-in with xbar
    keep = {"xbar-ngspice-notours", "other-tool-1-abcdefgh", "xbar-ngspice-x-abcdefgh"}
    for name in keep:
        (tmp / name).mkdir()
    dead = proc.pid
    (tmp / f"xbar-ngspice-{dead}-linkxxxx").symlink_to(tmp / "other-tool-1-abcdefgh")  # a link: never followed
    (tmp / f"xbar-ngspice-{dead}-filexxxx").write_text("a file, not a folder")
    keep |= {f"xbar-ngspice-{dead}-linkxxxx", f"xbar-ngspice-{dead}-filexxxx"}
    live = tmp / f"xbar-ngspice-{os.getppid()}-abcdefgh"  # a live owner's folder stays
    live.mkdir()
    keep.add(live.name)
    run = subprocess.run([sys.executable, "-m", "xbar.cli", "solve", "--backend", "ngspice", "--rows", "2",
                          "--cols", "2"], env=dict(env, XBAR_NGSPICE="ngspice"), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert {p.name for p in tmp.iterdir()} == keep


@pytest.mark.bad_input
def test_a_part_file_of_a_killed_write_is_removed_by_the_next_write_in_its_folder(tmp_path):
    out, started = tmp_path / "out", tmp_path / "started"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(out / "big.csv"), str(started)])
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(list(out.glob(".big.csv.*.part"))) == 1
    keep = {".notes.txt.part", f".x.csv.{os.getpid()}.abcdefgh.part", ".y.csv.1x.abcdefgh.part", "big.csv.part"}
    for name in keep:
        (out / name).write_text("not xbar's, or not stale")
    (out / f".z.csv.{proc.pid}.linkxxxx.part").symlink_to(out / "big.csv.part")  # a link: never removed
    keep.add(f".z.csv.{proc.pid}.linkxxxx.part")
    run = subprocess.run([sys.executable, "-m", "xbar.cli", "solve", "--rows", "2", "--cols", "2", "-o",
                          str(out / "other.csv")], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])))
    assert run.returncode == 0, run.stderr
    assert {p.name for p in out.iterdir()} == keep | {"other.csv", "other.csv.json"}


def test_a_stop_while_a_scratch_folder_or_part_file_is_made_still_removes_it(tmp_path, monkeypatch):
    # SIGINT the moment the folder or file exists (the window a loaded machine stretches), with a second
    # thread alive (the signal may land on it): the stop is raised inside the block that removes it.
    import threading
    import tempfile
    from xbar.util.atomic import write_text
    from xbar.util.litter import scratch_dir

    def in_scratch():
        with scratch_dir("ngspice"):
            pass
    made = []

    def interrupted(real):
        def call(path, *args, **kwargs):
            out = real(path, *args, **kwargs)
            if "xbar-ngspice-" in str(path) or str(path).endswith(".part"):
                made.append(str(path))
                os.kill(os.getpid(), signal.SIGINT)
            return out
        return call
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    done = threading.Event()
    threading.Thread(target=done.wait, daemon=True).start()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # a suite run in the background
    try:                                                                  # inherits SIGINT ignored
        for name, make in (("mkdir", in_scratch), ("open", lambda: write_text(tmp_path / "a.csv", "1\n"))):
            monkeypatch.setattr(os, name, interrupted(getattr(os, name)))
            with pytest.raises(KeyboardInterrupt):
                make()
            monkeypatch.undo()
            assert made and not os.path.exists(made[-1]), name
    finally:
        signal.signal(signal.SIGINT, previous)
        done.set()
    assert len(made) == 2 and not (tmp_path / "a.csv").exists()
