"""Tasks on local processes and Dask (xbar/util/tasks.py), and a network's per-tile solves on them."""

import os
import time

import numpy as np
import pytest

from xbar.network.analog import AnalogNetwork
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.datasets import load
from xbar.network.mlp import trained
from xbar.util.errors import ParameterError, XbarError
from xbar.util.tasks import TaskTimeout, WorkerLost, gather, run_tasks


def square_after(seconds: float, value: float) -> float:
    time.sleep(seconds)
    return value * value


def die_once(marker: str, value: float) -> float:
    """Kill this worker the first time (no marker file yet), answer the second time."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(9)
    return value + 1


def always_die() -> None:
    os._exit(9)


def fail(message: str) -> None:
    raise ValueError(message)


@pytest.fixture(scope="module")
def small():
    import tempfile
    with tempfile.TemporaryDirectory() as cache:
        yield trained("digits", seed=0, hidden=16, epochs=40, cache_dir=cache), load("digits")


def test_results_come_back_by_index_from_two_workers():
    args = [(0.3 if i == 0 else 0.0, float(i)) for i in range(6)]
    assert gather(square_after, args, workers=2) == [float(i * i) for i in range(6)]


def test_per_task_timeout_is_honoured_and_others_survive():
    t0 = time.monotonic()
    out = dict(run_tasks(square_after, [(120.0, 1.0), (0.0, 2.0), (0.2, 3.0)], workers=2, timeout_s=5.0))
    assert time.monotonic() - t0 < 60  # not the 120 s the stuck task wanted
    with pytest.raises(TaskTimeout, match="task 0 ran past its 5 s timeout"):
        out[0].result()
    assert out[1].result() == 4.0 and out[2].result() == 9.0


def test_per_task_timeout_on_dask():
    from dask.distributed import LocalCluster

    out = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        t0 = time.monotonic()
        for index, future in run_tasks(square_after, [(15.0, 1.0), (0.0, 2.0)], scheduler=cluster.scheduler_address,
                                       timeout_s=3.0):
            out[index] = future.exception() or future.result()  # a Dask future is read while its client lives
            assert index == 1 or time.monotonic() - t0 < 12  # the stuck task is given up at 3 s, not at 15
    assert isinstance(out[0], TaskTimeout) and "task 0 (xbar-task-0) ran past its 3 s timeout" in str(out[0])
    assert out[1] == 4.0


def test_a_dead_worker_loses_nothing(tmp_path):
    marker = str(tmp_path / "died")
    args = [(marker, 1.0), (marker, 2.0), (marker, 3.0)]
    assert sorted(gather(die_once, args, workers=2)) == [2.0, 3.0, 4.0]
    out = dict(run_tasks(always_die, [()], workers=1, retries=1))
    with pytest.raises(WorkerLost, match="died 2 times"):
        out[0].result()


@pytest.mark.bad_input
def test_bad_options_and_task_errors_are_one_line():
    with pytest.raises(ParameterError, match="workers must be an integer >= 1"):
        run_tasks(square_after, [(0.0, 1.0)], workers=0)
    with pytest.raises(ParameterError, match="task timeout must be a number of seconds > 0"):
        run_tasks(square_after, [(0.0, 1.0)], timeout_s=-1)
    with pytest.raises(XbarError, match="^item 0: ValueError: bad thing$"):
        gather(fail, [("bad thing\nmore",)], what=lambda i: f"item {i}", workers=1)


def test_network_spice_check_on_two_dask_workers_equals_one_process(small):
    from dask.distributed import LocalCluster

    net, data = small
    spec = CircuitSpec(n_cells=2, wire_ohm=2.0, tile_rows=40, tile_cols=12, driver_ohm=5.0)
    x = data.x_test[:8]
    serial = AnalogNetwork(net, spec)
    one, _, one_layers = serial.run(x, "ngspice")
    farmed = AnalogNetwork(net, spec)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        farmed.use_workers(scheduler=cluster.scheduler_address, timeout_s=120)
        two, _, two_layers = farmed.run(x, "ngspice")
    assert np.array_equal(one, two)
    for a, b in zip(one_layers, two_layers):
        assert np.array_equal(a.z_analog, b.z_analog)
    assert len(farmed.spice_runs) == len(serial.spice_runs) == sum(len(t) for t in serial.tiles)
    native, _, _ = serial.run(x, "native")
    assert np.abs(one - native).max() <= 1e-9 * np.abs(native).max()


@pytest.mark.parametrize("access", [False, True])
def test_nonlinear_tiles_on_two_processes_equal_one_process(small, access):
    # With access transistors the workers must solve the stacks too (they once took the junction-only
    # solver: currents 0.5-1.4 % off the one-process run's on MNIST tiles).
    from xbar.device.access import AccessTransistor
    net, data = small
    spec = CircuitSpec(n_cells=2, wire_ohm=2.0, tile_rows=40, tile_cols=12, v_read=0.5, v_half_volt=0.3,
                       access=AccessTransistor() if access else None)
    x = data.x_test[:30]
    serial = AnalogNetwork(net, spec)
    one, _, _ = serial.run(x)
    farmed = AnalogNetwork(net, spec)
    farmed.use_workers(workers=2)
    two, _, _ = farmed.run(x)
    assert np.array_equal(one, two)
    assert {r["method"] for r in farmed.nonlinear_runs} == {"chord"}
    for a, b in zip(serial.ir_drop(0, x[:4]), farmed.ir_drop(0, x[:4])):  # the chord's node voltages, per tile
        assert a["worst_v"] == b["worst_v"] and np.array_equal(a["map_rel"], b["map_rel"])


def test_a_spice_task_past_its_timeout_stops_the_run(small, monkeypatch):
    net, data = small
    spec = CircuitSpec(n_cells=2, wire_ohm=2.0, tile_rows=40, tile_cols=12)
    farmed = AnalogNetwork(net, spec)
    farmed.use_workers(workers=2, timeout_s=1e-3)
    with pytest.raises(XbarError, match=r"layer 0 tile \(\d+, \d+\): .*(timeout|timed out)"):
        farmed.run(data.x_test[:4], "ngspice")
