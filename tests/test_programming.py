"""Program-and-verify: termination, minimum pulses, seeding, and a programmed network through the circuits."""

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xbar.cli import main
from xbar.device.library import library_device
from xbar.util.errors import ParameterError
from xbar.programming.verify import BROKEN, STUCK, SUCCESS, ProgramParams, nominal_ramp, program
from xbar.solvers.write import write_transfer
from xbar.device.switching import DeviceSample, SwitchingParams, half_current_factor, thermal_stability
from xbar.array.write_circuit import WritePath, build_write_circuit

FAST = ProgramParams(max_pulses=120)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 3), t=st.sampled_from([1.6, 1.9, 2.2, 2.4, 2.6]), seed=st.integers(0, 2 ** 32 - 1),
       field=st.sampled_from([0.0, 6.0, 10.0]), data=st.data())
def test_program_and_verify_always_terminates(n, t, seed, field, data):
    size = data.draw(st.integers(1, 12))
    target = np.array(data.draw(st.lists(st.integers(0, n), min_size=size, max_size=size)))
    start = np.array(data.draw(st.lists(st.integers(0, n), min_size=size, max_size=size)))
    res = program(library_device(thickness_nm=t, n_cells=n), t, target, start=start, switching=SwitchingParams(field_mt=field),
                  params=FAST, seed=seed)
    assert set(np.unique(res.status)) <= {SUCCESS, STUCK, BROKEN}
    assert np.all(res.pulses <= FAST.max_pulses)
    ok = res.status == SUCCESS
    assert np.all(res.states[ok] == target[ok]) and not res.shorted[ok].any()
    assert np.all(res.shorted[res.status == BROKEN].sum(axis=-1) == 1)
    assert np.all(res.pulses[start == target] == 0) and np.all(res.energy_j[res.pulses == 0] == 0)
    assert np.all(res.energy_j[res.pulses > 0] > 0)


def _ideal_ramp_pulses(device, t, sw, path, ic0, start_flags, target):
    """Pulses an incremental ramp needs with deterministic thresholds: step up until each needed cell flips."""
    n = device.n_cells
    configs = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
    tr = write_transfer(build_write_circuit(device, path), np.where(configs, device.cell_r_p(), device.cell_r_ap()))
    v0, dv, _ = nominal_ramp(device, t, sw, ProgramParams(), path)
    i50 = ic0 * half_current_factor(sw, thermal_stability(sw, t))
    cells, pulses = start_flags.copy(), 0
    up = target > cells.sum()
    for step in range(10_000):
        if cells.sum() == target:
            return pulses
        cfg = int(cells @ (1 << np.arange(n)))
        current = (v0 + step * dv) * tr.cell_a[cfg]
        cells = np.where((cells != up) & (current >= i50), up, cells)
        pulses += 1
    raise AssertionError("ramp never reached the target")


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("t", [1.6, 2.6])
def test_zero_spread_no_breakdown_reaches_every_target_in_minimum_pulses(n, t):
    sw = dataclasses.replace(SwitchingParams(sigma_cell=0.0, sigma_device=0.0, stochastic=False)).without_breakdown()
    device, path = library_device(thickness_nm=t, n_cells=n), WritePath()
    # Cells of one device differ by design here (1, 1.25, 1.5x), as zero spread would make identical cells
    # switch together: a ramp separates only cells whose thresholds differ by more than its step.
    base = SwitchingParams(sigma_cell=0.0, sigma_device=0.0)
    from xbar.device.switching import critical_current
    ic0 = critical_current(base, t, n_cells=n) * (1.0 + 0.25 * np.arange(n))
    starts, targets = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    starts, targets = starts.ravel(), targets.ravel()
    flags = np.arange(n) < starts[:, None]
    sample = DeviceSample(ic0_a=np.tile(ic0, (len(starts), 1)), vb_v=np.full(len(starts), np.inf),
                          delta=thermal_stability(sw, t))
    res = program(device, t, targets, start=flags, switching=sw, path=path, sample=sample)
    assert np.all(res.status == SUCCESS) and np.all(res.states == targets)
    expected = [_ideal_ramp_pulses(device, t, sw, path, ic0, f, k) for f, k in zip(flags, targets)]
    assert res.pulses.tolist() == expected
    assert np.all((res.pulses == 0) == (starts == targets))


def test_same_seed_same_programmed_array():
    rng = np.random.default_rng(5)
    target = rng.integers(0, 4, (40, 30))
    dev = library_device(thickness_nm=2.2, n_cells=3)
    a, b = program(dev, 2.2, target, seed=11), program(dev, 2.2, target, seed=11)
    for f in dataclasses.fields(a):
        assert np.array_equal(getattr(a, f.name), getattr(b, f.name))
    c = program(dev, 2.2, target, seed=12)
    assert not np.array_equal(a.pulses, c.pulses)


def test_thick_layers_cost_more_and_fail_more():
    target = np.random.default_rng(2).integers(0, 4, 3000)
    s16 = program(library_device(thickness_nm=1.6, n_cells=3), 1.6, target, seed=1).summary()
    s26 = program(library_device(thickness_nm=2.6, n_cells=3), 2.6, target, seed=1).summary()
    assert s16["yield_fraction"] > 0.999 and s26["yield_fraction"] < s16["yield_fraction"]
    assert s26["energy_j"] > 2 * s16["energy_j"]
    # Energy bookkeeping: every pulse and read is counted.
    assert s16["time_s"] == pytest.approx(s16["pulses"] * (210e-9 + 30e-9))


def test_programmed_network_through_the_circuits(tmp_path):
    from xbar.network.datasets import load
    from xbar.experiments.programming import ProgrammedNetwork, program_network
    from xbar.network.circuit_spec import CircuitSpec
    from xbar.network.analog import AnalogNetwork
    from xbar.network.mlp import Network
    data = load("digits")
    rng = np.random.default_rng(0)
    net = Network([rng.normal(0, 0.3, (64, 16)), rng.normal(0, 0.5, (16, 10))], [np.zeros(16), np.zeros(10)])
    spec = CircuitSpec(n_cells=3, thickness_nm=1.9, tile_rows=32, tile_cols=32)
    intended = AnalogNetwork(net, spec)
    clean = SwitchingParams().without_breakdown()
    per_tile, res = program_network(intended, 1.9, clean, seed=0)
    assert res.summary()["yield_fraction"] == 1.0
    x = data.x_test[:50]
    want, _, _ = intended.run(x)
    got, _, _ = ProgrammedNetwork(net, spec, per_tile, clean.short_ohm).run(x)
    # Same device states, but other cells of a device may be the ones in P: a cell far from the read
    # terminal reads through more channel segments, which moves the outputs by ~1 %.
    assert np.allclose(got, want, rtol=0, atol=0.05 * np.abs(want).max())
    # With the mapping's own cell convention (cells 0..k-1 in P) the programmed network is the intended one.
    tiles = {(t.layer, t.index): t for layer in intended.tiles for t in layer}
    conventional = {k: dataclasses.replace(r, cells_p=np.arange(3) < tiles[k].states[..., None])
                    for k, r in per_tile.items()}
    same, _, _ = ProgrammedNetwork(net, spec, conventional, clean.short_ohm).run(x)
    assert np.allclose(same, want, rtol=1e-12, atol=1e-12)
    key = next(iter(per_tile))
    broken = dataclasses.replace(per_tile[key], shorted=np.zeros_like(per_tile[key].shorted))
    broken.shorted[0, 0, 0] = True
    faulty = {**per_tile, key: broken}
    bad, _, _ = ProgrammedNetwork(net, spec, faulty, clean.short_ohm).run(x)
    assert not np.allclose(bad, want, rtol=0, atol=1e-3 * np.abs(want).max())


def test_cli_program_on_digits(tmp_path, capsys):
    out = tmp_path / "prog"
    assert main(["program", "--dataset", "digits", "--thickness", "1.6,2.6", "--limit", "60", "--out", str(out),
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "2.6" in text and (out / "report.md").is_file() and (out / "tradeoff.png").is_file()
    assert (out / "ramps.png").is_file()
    # A rerun resumes from results.jsonl.
    lines = (out / "results.jsonl").read_text().splitlines()
    assert main(["program", "--dataset", "digits", "--thickness", "1.6,2.6", "--limit", "60", "--out", str(out),
                 "--quiet"]) == 0
    assert (out / "results.jsonl").read_text().splitlines() == lines
    # A changed option is a new point, not a stale reuse.
    assert main(["program", "--dataset", "digits", "--thickness", "1.6", "--limit", "60", "--out", str(out),
                 "--quiet", "--ceiling-margin", "0.3"]) == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == len(lines) + 1
    assert main(["program", "--dataset", "digits", "--thickness", "1.6", "--limit", "60", "--out", str(out),
                 "--quiet", "--ceiling-margin", "0.3", "--cell-vc-ratio", "plain"]) == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == len(lines) + 2
    assert "| `multi_cell_vc_ratio` | None |" in (out / "report.md").read_text()


@pytest.mark.bad_input
@pytest.mark.parametrize("argv", [["--thickness", "3.1"], ["--thickness", "x"], ["--field", "nan"],
                                  ["--cells", "0"], ["--field", "30"], ["--limit", "0"],
                                  ["--ceiling-margin", "-1"], ["--max-pulses", "0"], ["--cell-vc-ratio", "2.5"],
                                  ["--cell-vc-ratio", "x"], ["--field", "12.7"]])
def test_cli_program_bad_input(tmp_path, capsys, argv):
    assert main(["program", "--dataset", "digits", "--out", str(tmp_path / "o"), "--quiet"] + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("xbar: error:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "results.jsonl").exists()


@pytest.mark.bad_input
@pytest.mark.parametrize("kwargs", [dict(step_fraction=0.0), dict(max_pulses=1.5), dict(read_s=float("nan"))])
def test_bad_program_parameters_are_refused(kwargs):
    with pytest.raises(ParameterError):
        ProgramParams(**kwargs)


@pytest.mark.bad_input
def test_bad_targets_are_refused():
    with pytest.raises(ParameterError):
        program(library_device(thickness_nm=1.9, n_cells=3), 1.9, np.array([0, 4]))
    with pytest.raises(ParameterError):
        program(library_device(thickness_nm=1.9, n_cells=3), 1.9, np.array([0, 1]), start=np.array([0, 1, 2]))
