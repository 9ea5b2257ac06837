"""How long each ngspice call takes to give up on a hung ngspice, and what a SIGTERM leaves behind.

A stand-in ngspice that hangs (and starts a background child) is put in $XBAR_NGSPICE; each
command runs with ``--timeout LIMIT`` (or $XBAR_NGSPICE_TIMEOUT) and is timed from the stand-in's
start to xbar's exit, capped at ``--cap`` seconds (then killed and reported as "> cap"). A
second pass sends SIGTERM once the stand-in runs and counts the folders and processes left.

    PYTHONPATH=$PWD python3 benchmarks/bench_limits.py [--repo PATH] [--limit 3] [--cap 30]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from stand_ins import FAKE_NGSPICE  # noqa: E402


CASES = [  # (label, argv, stand-in mode)
    ("solve: -v probe hangs", ["solve", "--backend", "ngspice", "--rows", "2", "--cols", "2"], "hang"),
    ("solve: run hangs", ["solve", "--backend", "ngspice", "--rows", "2", "--cols", "2"], "hang-run"),
    ("settle --backend ngspice", ["settle", "--backend", "ngspice", "--rows", "2", "--cols", "2"], "hang"),
    ("infer --backend ngspice: run hangs", ["infer", "--backend", "ngspice", "--limit", "2", "--quiet",
                                            "--tile", "32"], "hang-run"),
    ("doctor: -v probe hangs", ["doctor"], "hang"),
]


def pids(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def run(repo: str, argv: list[str], mode: str, limit: float, cap: float, via: str, stop: bool) -> str:
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        exe, tmp, pidfile = work / "ngspice", work / "tmp", work / "pids"
        exe.write_text(FAKE_NGSPICE)
        exe.chmod(0o755)
        tmp.mkdir()
        env = dict(os.environ, XBAR_NGSPICE=str(exe), TMPDIR=str(tmp), FAKE_PIDS=str(pidfile), FAKE_MODE=mode,
                   PYTHONPATH=repo)
        env.pop("XBAR_NGSPICE_TIMEOUT", None)
        args = list(argv) + (["--out", str(work / "out")] if argv[0] == "infer" else [])
        if via == "option" and not stop:
            args += ["--timeout", str(limit)]
        elif not stop:
            env["XBAR_NGSPICE_TIMEOUT"] = str(limit)
        proc = subprocess.Popen([sys.executable, "-m", "xbar.cli", *args], env=env, cwd=repo,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while not pids(pidfile) and proc.poll() is None:
            time.sleep(0.02)
        began = time.monotonic()
        if stop:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=cap)
            took = f"{time.monotonic() - began:.2f} s"
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            took = f"> {cap:g} s (killed)"
        time.sleep(0.5)
        left = [p for p in pids(pidfile) if alive(p)]
        for p in left:
            os.kill(p, signal.SIGKILL)
        folders = len(list(tmp.iterdir()))
        return f"{took}, {folders} folder(s) and {len(left)} process(es) left"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]))
    ap.add_argument("--limit", type=float, default=3.0)
    ap.add_argument("--cap", type=float, default=30.0)
    args = ap.parse_args()
    print(f"repo {args.repo}, limit {args.limit:g} s\n")
    print("| call | --timeout | $XBAR_NGSPICE_TIMEOUT | SIGTERM |\n|---|---|---|---|")
    for label, argv, mode in CASES:
        cells = [run(args.repo, argv, mode, args.limit, args.cap, via, stop)
                 for via, stop in (("option", False), ("env", False), ("option", True))]
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
