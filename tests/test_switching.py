"""The switching model and the write circuit: closed forms, the paper's Fig. 4 numbers, ngspice .tran."""

import numpy as np
import pytest

from xbar.device.compound import channel_resistance
from xbar.device.library import library_device
from xbar.util.errors import ParameterError
from xbar.programming.verify import ramp_voltages
from xbar.solvers.ngspice import find_ngspice
from xbar.solvers.write import ngspice_pulse, pulse_energy, write_transfer
from xbar.device.switching import (
    SwitchingParams,
    anisotropy_field,
    breakdown_voltage,
    critical_current,
    field_free_probability,
    half_current,
    half_current_factor,
    hardest_cell_factor,
    multi_cell_factor,
    switching_probability,
    thermal_stability,
    vc_ratio,
)
from xbar.array.write_circuit import WritePath, build_write_circuit, write_netlist_text

P = SwitchingParams()


def test_probability_matches_closed_form_and_half_point():
    rng = np.random.default_rng(1)
    ic0, delta, tp, tau0 = 3e-3, 47.5, 200e-9, 1e-9
    i = rng.uniform(0.5, 1.2, 200) * ic0
    expected = -np.expm1(-tp / (tau0 * np.exp(delta * (1.0 - i / ic0))))  # 1 - exp(-t/tau), exactly rounded
    assert np.allclose(switching_probability(i, ic0, delta, tp, tau0), expected, rtol=1e-12, atol=1e-300)
    i50 = ic0 * (1.0 - np.log(tp / tau0 / np.log(2.0)) / delta)
    assert abs(switching_probability(i50, ic0, delta, tp, tau0) - 0.5) < 1e-12
    assert switching_probability(-i50, ic0, delta, tp, tau0) == 0.0
    # Monotonic in current and in pulse width.
    p = switching_probability(np.linspace(0, 2 * ic0, 500), ic0, delta, tp, tau0)
    assert np.all(np.diff(p) >= 0) and p[0] == 0 and p[-1] == pytest.approx(1.0)
    assert switching_probability(i50, ic0, delta, 2 * tp, tau0) > 0.5


def test_eq1_fit_meets_fig4c_ends_and_is_linear_in_thickness():
    r1 = channel_resistance(1)
    assert half_current(P, 1.6, 0.0) * r1 == pytest.approx(0.7, rel=1e-12)
    assert half_current(P, 2.6, 0.0) * r1 == pytest.approx(2.0, rel=1e-12)
    ic = [critical_current(P, t, 0.0) for t in (1.6, 1.9, 2.2, 2.6)]
    assert np.allclose(np.diff(ic)[:2], np.diff(ic)[0]) and np.all(np.diff(ic) > 0)
    # The assisting field lowers the critical current; thicker layers are more stable.
    assert critical_current(P, 1.9, 8.0) < critical_current(P, 1.9, 6.0) < critical_current(P, 1.9, 0.0)
    assert thermal_stability(P, 2.6) > thermal_stability(P, 1.6)
    assert 0 < half_current_factor(P, thermal_stability(P, 1.6)) < 1


def test_breakdown_follows_fig4h():
    assert breakdown_voltage(P, 1.6, 1) == pytest.approx(1.8) and breakdown_voltage(P, 2.6, 1) == pytest.approx(2.0)
    assert breakdown_voltage(P, 1.6, 3) == pytest.approx(1.7) and breakdown_voltage(P, 2.6, 3) == pytest.approx(1.9)


def test_field_free_switching_falls_with_thickness():
    probs = [field_free_probability(P, t) for t in (1.6, 1.9, 2.2, 2.4, 2.6)]
    assert probs[0] == 1.0 and np.all(np.diff(probs) <= 0) and probs[-1] < 0.6


def _switch_voltages(n, t, field_mt, seed=3):
    sw = SwitchingParams(field_mt=field_mt)
    _, v_ch, states = ramp_voltages(library_device(thickness_nm=t, n_cells=n), t, switching=sw, seed=seed)
    return v_ch, states


@pytest.mark.parametrize("t, lo, hi", [(1.6, 0.6, 0.8), (1.9, 0.7, 2.0), (2.2, 0.7, 2.0), (2.6, 1.7, 2.3)])
def test_ramped_one_cell_critical_voltage_in_paper_range(t, lo, hi):
    # Fig. 4c: 0.7 V at 1.6 nm to 2.0 V at 2.6 nm; +-15 % leaves room for one device's I_c spread (9 %).
    v_ch, states = _switch_voltages(1, t, 0.0)
    assert list(np.unique(states)) == [0, 1] and np.all(np.diff(states) >= 0)
    assert lo <= v_ch[np.argmax(states == 1)] <= hi


@pytest.mark.parametrize("t", [1.6, 1.9, 2.2, 2.6])
def test_ramped_three_cell_device_shows_four_states_in_order(t):
    v_ch, states = _switch_voltages(3, t, 6.0)
    assert list(np.unique(states)) == [0, 1, 2, 3] and np.all(np.diff(states) >= 0)


def _full_switch(n, t, field_mt, seeds, **kwargs):
    out = []
    for seed in seeds:
        sw = SwitchingParams(field_mt=field_mt, **kwargs)
        _, v_ch, states = ramp_voltages(library_device(thickness_nm=t, n_cells=n), t, switching=sw, seed=seed)
        out.append(v_ch[np.argmax(states == n)])
    return np.median(out)


@pytest.mark.parametrize("t", [1.7, 2.2, 2.6])
def test_three_cell_device_needs_20_to_30_percent_more_voltage_at_6_mt(t):
    # Section D / Fig. 4g: at -6 mT a 3-cell device switches fully at ~20-30 % more voltage than a 1-cell one.
    ratio = _full_switch(3, t, 6.0, range(16)) / _full_switch(1, t, 6.0, range(16))
    assert 1.2 <= ratio <= 1.3


def test_plain_physics_needs_twice_the_voltage_for_twice_the_channel():
    # multi_cell_vc_ratio=None: equal per-cell critical current, so the 600 ohm channel needs ~2x the 300 ohm
    # one's voltage, plus its hardest cell: what the paper's explanation alone would predict.
    plain = dict(multi_cell_vc_ratio=None)
    ratio = _full_switch(3, 1.9, 6.0, range(8), **plain) / _full_switch(1, 1.9, 6.0, range(8), **plain)
    assert 1.9 < ratio < 2.4
    assert vc_ratio(SwitchingParams(**plain), 3) == pytest.approx(2.0 * hardest_cell_factor(P, 3))


def test_multi_cell_critical_current_closed_forms():
    r1 = channel_resistance(1)
    assert vc_ratio(P, 1) == 1.0 and vc_ratio(P, 3) == pytest.approx(1.25)
    # Linear in channel resistance: a fixed R_eq = (R_ch(3) - r R_ch(1)) / (r - 1) in series with the channel.
    r_eq = (channel_resistance(3) - 1.25 * r1) / 0.25
    for n in range(1, 7):
        assert vc_ratio(P, n) == pytest.approx((r_eq + channel_resistance(n)) / (r_eq + r1), rel=1e-12)
        assert critical_current(P, 2.2, 6.0, n) == pytest.approx(
            critical_current(P, 2.2, 6.0) * vc_ratio(P, n) * r1 / channel_resistance(n) / hardest_cell_factor(P, n))
    # r = R_ch(3)/R_ch(1) is the channel-resistance ratio for every n, less the hardest-cell spread.
    two = SwitchingParams(multi_cell_vc_ratio=2.0)
    assert [vc_ratio(two, n) for n in range(1, 7)] == pytest.approx([channel_resistance(n) / r1 for n in range(1, 7)])
    # Monotone and positive up to 6 cells for every allowed ratio; 1 everywhere for the plain physics.
    for r in (1.0, 1.1, 1.25, 1.5, 2.0):
        f = [multi_cell_factor(SwitchingParams(multi_cell_vc_ratio=r), n) for n in range(1, 7)]
        assert f[0] == 1.0 and np.all(np.diff(f) < 0) and f[-1] > 0
    assert [multi_cell_factor(SwitchingParams(multi_cell_vc_ratio=None), n) for n in range(1, 7)] == [1.0] * 6
    # The median of the largest of 3 log-normal cell factors, against sampling.
    z = np.random.default_rng(0).lognormal(0.0, P.sigma_cell, (200_000, 3)).max(axis=1)
    assert np.median(z) == pytest.approx(hardest_cell_factor(P, 3), rel=2e-3)


def test_sharrock_field_and_assisting_field_effect():
    # H_s of the loop is H_K (1 - sqrt(ln(t_loop / tau0 / ln 2) / Delta)), Sharrock's law.
    for t, hs in ((1.6, 12.7), (2.6, 14.8)):
        hk, delta = anisotropy_field(P, t), thermal_stability(P, t)
        assert hk * (1 - np.sqrt(np.log(P.loop_s / P.tau0_s / np.log(2)) / delta)) == pytest.approx(hs, rel=1e-12)
        assert critical_current(P, t, 6.0) == pytest.approx(critical_current(P, t, 0.0) * (1 - 6.0 / hk), rel=1e-12)


def test_thick_three_cell_device_needs_the_larger_field_before_breakdown():
    # Paper, section D: 2.6 nm 3-cell devices switch completely without breakdown only with a larger field
    # (-8.5 mT rather than -6 mT).
    vb = breakdown_voltage(P, 2.6, 3)
    assert _full_switch(3, 2.6, 6.0, range(8)) > vb > _full_switch(3, 2.6, 8.5, range(8))


def _paths():
    return [WritePath(), WritePath(driver_ohm=0.0, read_side_ohm=None),
            WritePath(driver_ohm=120.0, return_ohm=35.0, read_side_ohm=2e3, rise_s=2e-9, fall_s=9e-9)]


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("k", [0, 1, 2])
def test_write_circuit_native_vs_ngspice_tran(n, k):
    find_ngspice()
    path = _paths()[k]
    cells = np.arange(n) % 2 == (k % 2)
    circuit = build_write_circuit(library_device(thickness_nm=2.2, n_cells=n), path, cells_p=cells)
    amp, width = 1.37, 200e-9
    tr = write_transfer(circuit)
    res = ngspice_pulse(circuit, amp, width)
    e_native = pulse_energy(tr.g_in[0], amp, width, path.rise_s, path.fall_s)
    assert abs(res["energy_j"] / e_native - 1) <= 1e-6
    flat = np.isclose(res["v"][:, circuit.source], amp, rtol=0, atol=1e-15)
    assert flat.sum() >= 2
    assert np.allclose(res["i_source"][flat], amp * tr.g_in[0], rtol=1e-6, atol=0)
    seg = circuit.resistors[[g.prefix for g in circuit.resistors].index("Rwch")].ohm
    ch = circuit.channel
    i_seg = (res["v"][flat][:, ch[:-1]] - res["v"][flat][:, ch[1:]]) / seg
    assert np.allclose(i_seg, amp * tr.segment_a, rtol=1e-6, atol=1e-12)
    # Kirchhoff: the source current enters the channel; what leaves it early leaks through the read side.
    leak = 0.0 if path.read_side_ohm is None else tr.node_v[0, circuit.top] / path.read_side_ohm
    assert tr.g_in[0] == pytest.approx(tr.segment_a[0, -1] + leak, rel=1e-12)
    assert tr.segment_a[0, 0] == pytest.approx(tr.g_in[0], rel=1e-12)


def test_write_netlist_names_only_indices_and_numbers():
    text = write_netlist_text(build_write_circuit(library_device(thickness_nm=1.9, n_cells=2)), 1.0, 2e-7)
    assert "Vw win 0 PWL(0 0 5e-09 1 2.05e-07 1 2.1e-07 0)" in text
    assert "Rwj1 h1 wt 48440" in text and "Rwl0 wt 0 10000" in text


@pytest.mark.bad_input
@pytest.mark.parametrize("kwargs", [dict(field_mt=float("nan")), dict(field_mt=20.0), dict(sigma_cell=-0.1),
                                    dict(pulse_s=0.0), dict(vc_thick_v=0.5), dict(stochastic="yes"),
                                    dict(tau0_s="1e-9"), dict(multi_cell_vc_ratio=0.9),
                                    dict(multi_cell_vc_ratio=2.5), dict(multi_cell_vc_ratio=float("nan")),
                                    dict(loop_s=0.0)])
def test_bad_switching_parameters_are_refused(kwargs):
    with pytest.raises(ParameterError):
        SwitchingParams(**kwargs)


@pytest.mark.bad_input
@pytest.mark.parametrize("kwargs", [dict(driver_ohm=-1.0), dict(read_side_ohm=0.0), dict(rise_s=float("inf")),
                                    dict(return_ohm=float("nan"))])
def test_bad_write_paths_are_refused(kwargs):
    with pytest.raises(ParameterError):
        WritePath(**kwargs)


@pytest.mark.bad_input
def test_thickness_outside_the_fit_is_refused():
    with pytest.raises(ParameterError):
        critical_current(P, 3.0)
