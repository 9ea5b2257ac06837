"""Reports that can be rerun and studies that speak on the terminal (issue 19's reports part)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from xbar.experiments.provenance import command_line, markdown, provenance
from xbar.sweeps.registry import EXPERIMENTS, describe_experiment


def xbar(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "xbar.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_provenance_names_the_command_versions_and_seeds():
    rec = provenance({"training": 3}, argv=["/usr/bin/xbar", "infer", "--limit", "10", "--out", "a b"])
    assert rec["command"] == "xbar infer --limit 10 --out 'a b'"
    assert rec["versions"]["numpy"] == np.__version__
    assert rec["seeds"] == {"training": 3}
    assert set(rec["ngspice"]) >= {"version", "klu_compiled"}
    text = "\n".join(markdown(rec))
    assert "xbar infer --limit 10" in text and "training = 3" in text and "numpy" in text
    assert command_line(["-c"]).endswith("-c")


def test_infer_records_how_to_rerun_and_prints_its_studies(tmp_path):
    out = tmp_path / "run"
    proc = xbar("infer", "--limit", "60", "--study", "tile", "--seeds", "2", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "results.json").read_text())
    rerun = result["info"]["rerun"]
    assert rerun["command"].startswith("xbar infer --limit 60") and rerun["seeds"]["seeds"] == [0, 1]
    assert rerun["versions"]["scipy"]
    seeds = result["seeds"]
    assert [r["seed"] for r in seeds["runs"]] == [0, 1]
    analog = [r["accuracy_analog"] for r in seeds["runs"]]
    assert seeds["stats"]["accuracy_analog"]["mean"] == pytest.approx(np.mean(analog))
    report = (out / "report.md").read_text()
    assert "## How to rerun" in report and "xbar infer --limit 60" in report and "Over 2 seeds" in report
    # the study table on the terminal and its figure
    lines = [line for line in proc.stdout.splitlines() if line.startswith("tile ")]
    assert len(lines) == 5 and "32x32" in lines[0] and "untiled" in lines[-1]
    assert (out / "study_tile.png").is_file()


def test_resistor_sensing_explains_itself(tmp_path):
    proc = xbar("infer", "--limit", "30", "--sense", "resistor", "--out", str(tmp_path / "r"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "note: resistor sensing through 1e+06 ohm" in proc.stdout


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_experiment_parameter_is_described(name):
    lines = describe_experiment(name)
    table = lines[3:]
    assert table, lines
    undocumented = [row.split()[0] for row in table if len(row) <= 36]
    assert not undocumented, f"{name}: parameters without a description: {undocumented}"


def test_sweep_describe_and_summary(tmp_path):
    proc = xbar("sweep", "--describe", "crossbar")
    assert proc.returncode == 0 and "wire_ohm" in proc.stdout and "(ohm)" in proc.stdout
    bad = xbar("sweep", "--describe", "nothing")
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "unknown experiment" in bad.stderr
    proc = xbar("sweep", "--experiment", "crossbar", "--param", "rows=4,6", "--param", "cols=4",
                "--results", str(tmp_path / "s.jsonl"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = proc.stdout[proc.stdout.index("summary:"):].splitlines()
    assert summary[1].split()[0] == "rows" and [s.split()[0] for s in summary[2:]] == ["4", "6"]


def test_csv_outputs_have_a_header_and_read_back(tmp_path):
    out = tmp_path / "i.csv"
    proc = xbar("solve", "--rows", "3", "--cols", "2", "--random", "2", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    head, *rows = out.read_text().splitlines()
    assert head == "i0_a,i1_a" and len(rows) == 2
    inputs = tmp_path / "v.csv"
    inputs.write_text("v0_v,v1_v,v2_v\n0.1,0.05,0\n")
    proc = xbar("solve", "--rows", "3", "--cols", "2", "--inputs", str(inputs), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert len(out.read_text().splitlines()) == 2
