"""Correlated variation (R_AP >= R_P, statistics) and cell faults (rates, open/short in every solver)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.junction import MTJ
from xbar.device.compound import CompoundMTJ
from xbar.device.variation import Variation
from xbar.device.library import library_device
from xbar.util.errors import ParameterError
from xbar.device.faults import Faults
from xbar.array.netlist import netlist_text
from xbar.solvers import solve

PARASITICS = dict(row_wire_ohm=1.5, col_wire_ohm=2.5, driver_ohm=20.0, access_ohm=5.0)


def rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


@settings(max_examples=30, deadline=None)
@given(st.floats(0, 1.0), st.floats(0, 1.0), st.floats(0, 1.0), st.floats(0, 1.0), st.integers(0, 2**31))
def test_correlated_variation_never_gives_r_ap_below_r_p(d_ra, c_ra, d_tmr, c_tmr, seed):
    v = Variation(seed=seed, device_ra_sigma=d_ra, cell_ra_sigma=c_ra, device_tmr_sigma=d_tmr, cell_tmr_sigma=c_tmr)
    r_p, r_ap = v.sample(25.2e3, 33.8e3, (20, 20, 3))
    assert (r_ap >= r_p).all() and (r_p > 0).all()


def test_independent_variation_does_give_r_ap_below_r_p():
    # The legacy model's flaw the correlated one fixes: ~0.9 % of cells at sigma 0.1, 1.9 nm (40 % TMR).
    mtj = library_device(thickness_nm=1.9, n_cells=1).mtj
    r_p, r_ap = Variation(0.1, 0).sample(mtj.r_p, mtj.r_ap, (200, 200, 1))
    assert 0.006 < (r_ap < r_p).mean() < 0.012


def test_correlated_variation_statistics_match_parameters():
    v = Variation(seed=3, device_ra_sigma=0.05, cell_ra_sigma=0.03, device_tmr_sigma=0.04, cell_tmr_sigma=0.02)
    r_p, r_ap = v.sample(25.2e3, 33.8e3, (300, 300, 3))
    a = np.log(r_p / 25.2e3)
    t = np.log((r_ap / r_p - 1) / (33.8e3 / 25.2e3 - 1))
    n = a.size
    assert abs(a.mean()) < 4 * np.hypot(0.05, 0.03) / np.sqrt(n / 3)   # median is the nominal value
    assert a.std() == pytest.approx(np.hypot(0.05, 0.03), rel=0.01)
    assert t.std() == pytest.approx(np.hypot(0.04, 0.02), rel=0.01)
    # The cells of one device share the device part: within-device spread is the cell part alone.
    within = np.sqrt((a - a.mean(axis=2, keepdims=True)).var(axis=2, ddof=1).mean())
    assert within == pytest.approx(0.03, rel=0.02)
    assert np.corrcoef(a[..., 0].ravel(), a[..., 1].ravel())[0, 1] == pytest.approx(
        0.05 ** 2 / (0.05 ** 2 + 0.03 ** 2), abs=0.01)
    # RA variation moves R_P and R_AP together: without TMR spread, R_AP / R_P stays the nominal ratio.
    r_p, r_ap = Variation(seed=1, cell_ra_sigma=0.2).sample(25.2e3, 33.8e3, (50, 50, 2))
    assert np.allclose(r_ap / r_p, 33.8 / 25.2, rtol=1e-12)


def test_typical_variation_is_seeded_and_reaches_the_crossbar():
    dev = library_device(thickness_nm=1.9, n_cells=3)
    states = np.random.default_rng(0).integers(0, 4, (4, 4))
    a = Crossbar(dev, states, variation=Variation.typical(5)).cell_ohm()
    assert np.array_equal(a, Crossbar(dev, states, variation=Variation.typical(5)).cell_ohm())
    assert not np.array_equal(a, Crossbar(dev, states, variation=Variation.typical(6)).cell_ohm())
    assert "variation: correlated" in netlist_text(build_circuit(Crossbar(dev, states, variation=Variation.typical(5))))


@pytest.mark.bad_input
@pytest.mark.parametrize("kw, match", [
    (dict(sigma=0.1, cell_ra_sigma=0.1), "not both"),
    (dict(cell_tmr_sigma=-1.0), "cell_tmr_sigma must be a number in 0..1"),
    (dict(device_ra_sigma=float("nan")), "device_ra_sigma must be a number in 0..1"),
])
def test_bad_variation_is_refused(kw, match):
    with pytest.raises(ParameterError, match=match):
        Variation(**kw)


def test_fault_rates_and_kinds():
    f = Faults(stuck_p=0.01, stuck_ap=0.02, open=0.03, short=0.04, seed=9)
    kind = f.kinds((400, 400, 3))
    for k, rate in enumerate([0.01, 0.02, 0.03, 0.04], start=1):
        assert (kind == k).mean() == pytest.approx(rate, rel=0.05)
    flags = np.random.default_rng(0).random((400, 400, 3)) < 0.5
    r = f.apply(flags, np.full(flags.shape, 1e4), np.full(flags.shape, 2e4))
    assert (r[kind == 1] == 1e4).all() and (r[kind == 2] == 2e4).all()
    assert np.isinf(r[kind == 3]).all() and (r[kind == 4] == f.short_ohm).all()
    healthy = kind == 0
    assert np.array_equal(r[healthy], np.where(flags, 1e4, 2e4)[healthy])
    assert np.array_equal(kind, Faults(0.01, 0.02, 0.03, 0.04, seed=9).kinds((400, 400, 3)))


@pytest.mark.parametrize("channel", [0.0, 600.0])
@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_open_and_shorted_faults_native_equals_ngspice(channel, sense):
    dev = CompoundMTJ(MTJ(25e3, 40e3), 3, channel_ohm=channel)
    states = np.random.default_rng(1).integers(0, 4, (8, 6))
    xb = Crossbar(dev, states, sense=sense, variation=Variation.typical(2),
                  faults=Faults(stuck_p=0.05, stuck_ap=0.05, open=0.15, short=0.1, seed=3), **PARASITICS)
    r = xb.cell_ohm()
    assert np.isinf(r).any() and (r == 500.0).any()
    x = np.random.default_rng(4).uniform(0, 0.1, (3, 8))
    assert rel(solve(xb, x, "ngspice").currents, solve(xb, x).currents) <= 1e-9


@pytest.mark.bad_input
@pytest.mark.parametrize("kw, match", [
    (dict(open=1.5), "fault rate open must be a number in 0..1"),
    (dict(short=-0.1), "fault rate short"),
    (dict(stuck_p=0.6, stuck_ap=0.6), "more than 1"),
    (dict(short_ohm=0.0), "short_ohm must be"),
    (dict(seed=-1), "fault seed"),
])
def test_bad_faults_are_refused(kw, match):
    with pytest.raises(ParameterError, match=match):
        Faults(**kw)
