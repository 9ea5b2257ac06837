"""Every script in examples/ runs, in an empty folder, and says what it should."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def netlist_vs_ngspice(out: str, folder: Path) -> None:
    gap = float(re.search(r"largest difference \S+ A \((\S+) of the largest current\)", out).group(1))
    assert gap < 1e-9  # plain ngspice and the native solver on the same netlist
    assert {p.name for p in (folder / "xbar-netlist-example").iterdir()} >= {"array.cir", "array.raw"}


def digits_on_circuits(out: str, folder: Path) -> None:
    rows = {float(w): (float(i), float(a)) for w, i, a in
            re.findall(r"wires (\S+) ohm: ideal quantized ([\d.]+) %, analog ([\d.]+) %", out)}
    assert set(rows) == {0.0, 1.0, 5.0}
    assert abs(rows[0.0][0] - rows[0.0][1]) <= 2.0  # without wires, analog is ideal quantized
    assert rows[5.0][1] < rows[0.0][1] - 5.0  # 5 ohm segments cost accuracy


def own_onnx_model(out: str, folder: Path) -> None:
    from xbar.network.models import load_model
    assert float(re.search(r"test accuracy ([\d.]+) %", out).group(1)) > 90
    model = load_model(folder / "my_digits.onnx")
    assert model.n_features == 64 and len(model.matrix_layers()) == 2


def variation_faults_energy(out: str, folder: Path) -> None:
    moved = {name: float(mean) for name, mean in re.findall(r"^(.+?): column currents move by ([\d.]+) %", out, re.M)}
    assert 0 < moved["typical variation"] < 5 < moved["2 % faulty cells"]  # 500 ohm shorts dwarf a few % spread
    assert float(re.search(r"Tellegen balance (\S+)", out).group(1)) < 1e-12


#: What each example must print or write, beyond running.
CHECKS = {f.__name__: f for f in (netlist_vs_ngspice, digits_on_circuits, own_onnx_model, variation_faults_energy)}


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.strip(), f"{script.name} printed nothing"
    CHECKS.get(script.stem, lambda out, folder: None)(proc.stdout, tmp_path)
