"""What a design costs (exact array energy, area model, latency) and which designs to build (Pareto fronts)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import xbar

UM2 = 1e-12  # one square micrometre in m^2
from xbar.analysis.area import AreaModel, device_area_m2, mtj_area_m2, tile_area
from xbar.analysis.pareto import pareto_front
from xbar.analysis.readout import array_energy
from xbar.array.circuit import build_circuit
from xbar.network.analog import AnalogNetwork
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.datasets import load
from xbar.network.design import design_costs
from xbar.network.energy import network_read_report
from xbar.network.mlp import trained
from xbar.solvers.native import NativeSolver
from xbar.util.errors import ParameterError


@pytest.mark.parametrize("wire, driver, sense", [(1.0, 0.0, "tia"), (0.0, 0.0, "tia"), (2.0, 50.0, "resistor")])
def test_input_admittance_gives_the_exact_read_energy(wire, driver, sense):
    dev = xbar.library_device(thickness_nm=1.9, n_cells=3)
    states = np.random.default_rng(0).integers(0, 4, (12, 9))
    circuit = build_circuit(xbar.Crossbar(dev, states, row_wire_ohm=wire, col_wire_ohm=wire, driver_ohm=driver,
                                          sense=sense))
    y = NativeSolver(circuit).input_admittance()
    x = np.random.default_rng(1).random((7, 12)) * 0.1
    exact = array_energy(circuit, x, 30e-9)["array_j"]["total"]  # node voltages and Tellegen's theorem
    assert 30e-9 * np.einsum("bi,ij,bj->b", x, y, x).mean() == pytest.approx(exact, rel=1e-11)
    assert np.allclose(y, y.T, rtol=0, atol=1e-15 * np.abs(y).max())
    assert (np.linalg.eigvalsh(y) > 0).all()  # a passive network draws power for every input


def test_network_energy_per_image_matches_the_node_voltage_analysis():
    data = load("digits")
    net = AnalogNetwork(trained("digits", seed=0), CircuitSpec(tile_rows=32, tile_cols=32))
    x = data.x_test[:20]
    net.energy_j = 0.0
    net.run(x)
    costs = design_costs(net, len(x))
    reference = network_read_report(net, x, settle=False, noise=False)["array_j_per_image"]
    assert costs["energy_j_per_image"]["array_dc"] == pytest.approx(reference, rel=1e-9)
    assert costs["latency_s"] > 2 * costs["read_pulse_s"]  # two layers in sequence, each a read pulse at least
    assert costs["area_m2"]["parts"]["array"] == pytest.approx(
        sum(t.states.size for tiles in net.tiles for t in tiles) * device_area_m2(3))


def test_area_model_reproduces_its_cited_figures():
    assert mtj_area_m2() == pytest.approx(0.0982 * UM2, rel=1e-3)  # paper: 250 x 500 nm^2 ellipse
    assert device_area_m2(1) == pytest.approx(0.9 * 0.9 * UM2)  # paper: 0.9 x 0.9 um^2 channel, 1 cell
    assert device_area_m2(3) == pytest.approx(3.25 * 0.9 * UM2)  # paper: 0.9 x 3.25 um^2, 3 cells
    m = AreaModel()
    assert m.adc_m2(8) == pytest.approx(3000 * UM2) and m.adc_m2(10) == pytest.approx(12000 * UM2)
    assert 1e-9 <= m.adc_m2(8) <= 1e-8  # within the survey's 0.001-0.01 mm^2 span of 6-10-bit SAR ADCs
    t = tile_area(128, 128, 3, 8, 8)
    assert t["adcs"] == 16 and t["parts_m2"]["adc"] == pytest.approx(16 * 3000 * UM2)
    assert t["total_m2"] == pytest.approx(sum(t["parts_m2"].values()))
    with pytest.raises(ParameterError):
        AreaModel(tia_m2=-1.0)


def test_pareto_front_of_a_known_set():
    # (accuracy max, energy min): a dominates d; b and c trade off; e ties b exactly; f is worse than c
    values = np.array([[0.95, 2.0],   # a: front
                       [0.90, 1.0],   # b: front
                       [0.80, 0.5],   # c: front
                       [0.94, 2.5],   # d: dominated by a
                       [0.90, 1.0],   # e: ties b: front too
                       [0.80, 0.6],   # f: dominated by c
                       [0.95, 2.0]])  # g: ties a
    assert pareto_front(values, [True, False]).tolist() == [True, True, True, False, True, False, True]
    assert pareto_front(values[:, :1], [True]).tolist() == [True, False, False, False, False, False, True]
    with pytest.raises(ParameterError):
        pareto_front(values, [True])
    with pytest.raises(ParameterError):
        pareto_front([[np.nan, 1.0]], [True, False])


def test_explore_runs_resumes_and_draws_its_front(tmp_path):
    args = [sys.executable, "-m", "xbar.cli", "explore", "--dataset", "digits", "--n-test", "60", "--param",
            "tile=32,64", "--param", "cells=3", "--param", "thickness_nm=1.9", "--param", "v_read=0.1",
            "--param", "adc_bits=8", "--param", "mitigation=none", "--out", str(tmp_path / "e"), "--quiet"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Pareto front:" in proc.stdout and "the paper's design" in proc.stdout
    assert (tmp_path / "e" / "pareto.png").is_file() and (tmp_path / "e" / "front.md").is_file()
    again = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert "2 designs, 2 already done, 0 finished now" in again.stdout
    rows = [json.loads(line) for line in (tmp_path / "e" / "results.jsonl").read_text().splitlines()[1:]]
    assert all({"energy_j_per_image", "latency_s", "area_m2", "write_energy_j", "program_yield"}
               <= set(r["result"]) for r in rows)


@pytest.mark.parametrize("kind, v_read, bound", [("access", 0.1, 2e-3), ("access", 0.3, 5e-3), ("vh", 0.1, 4e-3),
                                                ("vh", 0.3, 3e-2)])
def test_a_non_linear_tile_reads_its_energy_from_the_zero_bias_admittance(kind, v_read, bound):
    """The exact read power of a non-linear tile (sources' currents from Newton's node voltages) against
    ``v Y v`` of its zero-bias linearization: the bounds the design record's energy states."""
    from xbar.array.crossbar import Crossbar
    from xbar.device.access import AccessTransistor
    from xbar.device.library import library_device
    from xbar.solvers.newton import NewtonSolver
    from xbar.solvers.stack_newton import StackNewtonSolver
    rng = np.random.default_rng(0)
    dev = library_device(thickness_nm=1.9, n_cells=3, v_half_volt=0.5 if kind == "vh" else np.inf)
    xb = Crossbar(dev, rng.integers(0, 4, (24, 24)), row_wire_ohm=1.0, col_wire_ohm=1.0,
                  access=AccessTransistor() if kind == "access" else None)
    c = build_circuit(xb)
    solver = (StackNewtonSolver if kind == "access" else NewtonSolver)(c)
    x = np.vstack([v_read * (rng.random((3, 24)) > 0.5), rng.uniform(0, v_read, (3, 24))])
    v = solver.node_voltages(x)
    if kind == "access":
        i_dev = solver._stacks.solve(v[:, solver._top], v[:, solver._read], None)[0]
    else:
        i_dev = solver._devices.solve(solver._device_voltages(v))[0]
    leaving = solver._kcl(v, i_dev)
    assert np.abs(leaving[solver._free]).max() < 1e-15  # Kirchhoff at every free node: the solve is exact
    exact = (x * leaving[c.input_nodes].T).sum(axis=1)
    linear = np.einsum("bi,ij,bj->b", x, solver.linear.input_admittance(), x)
    assert np.abs(linear / exact - 1).max() < bound


def test_explore_takes_access_temperature_and_condition_knobs(tmp_path):
    args = [sys.executable, "-m", "xbar.cli", "explore", "--dataset", "digits", "--n-test", "40", "--param",
            "tile=32", "--param", "cells=3", "--param", "thickness_nm=1.9", "--param", "v_read=0.1",
            "--param", "adc_bits=8", "--param", "mitigation=none", "--param", "access=false,true",
            "--param", "temperature_c=85", "--param", "variation=1", "--param", "fault_rate=0.001",
            "--no-program", "--out", str(tmp_path / "e"), "--quiet"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "2 finished now, 0 failed" in proc.stdout, proc.stdout + proc.stderr
    rows = [json.loads(line) for line in (tmp_path / "e" / "results.jsonl").read_text().splitlines()[1:]]
    energy = {r["params"]["access"]: r["result"]["energy_j_per_image"] for r in rows}
    assert set(energy) == {False, True} and all(e > 0 for e in energy.values())


def test_the_paper_design_is_the_match_at_xbar_defaults():
    from xbar.experiments.explore import paper_design_index
    paper = dict(cells=3, v_read=0.1, thickness_nm=1.9, mitigation=None)
    rows = [dict(paper, tile=64, adc_bits=6), dict(paper, tile=128, adc_bits=6), dict(paper, tile=128, adc_bits=8),
            dict(paper, tile=128, adc_bits=8, mitigation="compensate=2")]
    assert paper_design_index(rows) == 2
    assert paper_design_index(rows[3:]) is None


@pytest.mark.bad_input
def test_explore_refuses_too_few_objectives():
    proc = subprocess.run([sys.executable, "-m", "xbar.cli", "explore", "--objectives", "accuracy"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "objectives" in proc.stderr


def test_explore_on_a_dask_cluster_gives_the_local_answer(tmp_path):
    from dask.distributed import LocalCluster
    common = ["--dataset", "digits", "--n-test", "40", "--param", "tile=32,64", "--param", "cells=3",
              "--param", "thickness_nm=1.9", "--param", "v_read=0.1", "--param", "adc_bits=8", "--param",
              "mitigation=none", "--no-program", "--quiet"]
    local = subprocess.run([sys.executable, "-m", "xbar.cli", "explore", *common, "--out", str(tmp_path / "l")],
                           capture_output=True, text=True, timeout=600)
    assert local.returncode == 0, local.stderr
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask = subprocess.run([sys.executable, "-m", "xbar.cli", "explore", *common, "--out", str(tmp_path / "d"),
                               "--scheduler", cluster.scheduler_address], capture_output=True, text=True, timeout=600)
    assert dask.returncode == 0, dask.stderr
    assert (tmp_path / "d" / "front.md").read_text() == (tmp_path / "l" / "front.md").read_text()
