"""Quantization levels (checked by hand), nearest-level rounding, scale rules and bias handling."""

import numpy as np
import pytest

from xbar.device.compound import CompoundMTJ
from xbar.device.junction import MTJ
from xbar.device.library import contour_device
from xbar.util.errors import ParameterError
from xbar.network.mlp import Network
from xbar.network.quantize import (
    differential_levels,
    layer_scale,
    nearest,
    paper_levels,
    paper_states,
    quantize_layer,
    quantize_network,
    uniform_levels,
)

# G_k/G_max at TMR 100 % (R_AP = 2 R_P): G_k = (n + k) / (2 R_P), G_max = n / R_P, so (n + k) / (2n).
HAND_TMR100 = {
    1: [1 / 2, 1],
    2: [1 / 2, 3 / 4, 1],
    3: [1 / 2, 2 / 3, 5 / 6, 1],
    4: [1 / 2, 5 / 8, 3 / 4, 7 / 8, 1],
    5: [1 / 2, 3 / 5, 7 / 10, 4 / 5, 9 / 10, 1],
    6: [1 / 2, 7 / 12, 2 / 3, 3 / 4, 5 / 6, 11 / 12, 1],
}


@pytest.mark.parametrize("n", range(1, 7))
def test_paper_levels_by_hand_at_tmr_100(n):
    levels = paper_levels(contour_device(tmr=1.0, n_cells=n))
    pos = np.array(HAND_TMR100[n])
    np.testing.assert_allclose(levels, np.concatenate([-pos[::-1], pos]), rtol=1e-12)


def test_one_cell_levels_at_tmr_50_and_no_zero():
    levels = paper_levels(CompoundMTJ(MTJ(r_p=10e3, r_ap=15e3), 1))
    np.testing.assert_allclose(levels, [-1, -2 / 3, 2 / 3, 1])
    assert not np.any(levels == 0)


@pytest.mark.parametrize("n", range(1, 7))
def test_differential_levels_are_conductance_differences(n):
    levels = differential_levels(n)
    np.testing.assert_allclose(levels, np.arange(-n, n + 1) / n)
    assert 0.0 in levels
    dev = contour_device(tmr=1.4, n_cells=n)
    g = dev.conductances()
    dg = 1 / dev.mtj.r_p - 1 / dev.mtj.r_ap
    diffs = np.array([[g[kp] - g[km] for km in range(n + 1)] for kp in range(n + 1)])
    k = np.arange(n + 1)
    np.testing.assert_allclose(diffs, (k[:, None] - k[None, :]) * dg, rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(np.unique(np.round(diffs / (n * dg), 12)), levels, atol=1e-12)


def test_uniform_levels_by_hand():
    np.testing.assert_allclose(uniform_levels(1), [-1, 1])
    np.testing.assert_allclose(uniform_levels(2), [-1, -1 / 3, 1 / 3, 1])
    np.testing.assert_allclose(uniform_levels(3), np.arange(-7, 8, 2) / 7)


def test_nearest_rounds_to_closest_level():
    levels = np.array([-1.0, -0.5, 0.5, 1.0])
    idx = nearest(np.array([-2.0, -0.8, -0.7, -0.1, 0.1, 0.74, 0.76, 5.0]), levels)
    np.testing.assert_array_equal(idx, [0, 0, 1, 1, 2, 2, 3, 3])


def _random_net(seed=0, shape=(20, 8, 3)):
    rng = np.random.default_rng(seed)
    return Network([rng.normal(0, 0.3, (a, b)) for a, b in zip(shape[:-1], shape[1:])],
                   [rng.normal(0, 0.1, b) for b in shape[1:]])


@pytest.mark.parametrize("rule", ["mse", "max"])
@pytest.mark.parametrize("levels", [paper_levels(contour_device(tmr=0.6, n_cells=3)), differential_levels(2), uniform_levels(2)])
def test_every_quantized_weight_lies_on_a_level(rule, levels):
    net = _random_net()
    for bias in ("row", "float"):
        q = quantize_network(net, levels, rule, bias)
        for l, (w, b) in enumerate(zip(q.network.weights, q.network.biases)):
            s, idx = q.scales[l], q.indices[l]
            on = np.vstack([w, b[None]]) if bias == "row" else w
            assert idx.shape == on.shape
            np.testing.assert_array_equal(on, s * levels[idx])
            if bias == "float":
                np.testing.assert_array_equal(b, net.biases[l])


def test_bias_row_shares_the_layer_scale():
    net = _random_net()
    q = quantize_network(net, differential_levels(3), "max", "row")
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        assert q.indices[l].shape == (w.shape[0] + 1, w.shape[1])
        assert q.scales[l] == pytest.approx(max(np.abs(w).max(), np.abs(b).max()))


def test_mse_scale_recovers_an_exact_grid_and_beats_max():
    levels = paper_levels(contour_device(tmr=1.0, n_cells=2))
    rng = np.random.default_rng(1)
    w = 0.3 * levels[rng.integers(0, levels.size, 500)]
    assert layer_scale(w, levels, "mse") == pytest.approx(0.3)
    w = rng.normal(0, 1, 2000)
    err = {r: np.sum((w - quantize_layer(w, levels, r)[0]) ** 2) for r in ("mse", "max")}
    assert err["mse"] < err["max"]


@pytest.mark.parametrize("n", [1, 3, 6])
def test_paper_states_map_indices_back_to_signed_conductance_states(n):
    dev = contour_device(tmr=0.8, n_cells=n)
    levels = paper_levels(dev)
    negative, k = paper_states(np.arange(levels.size), n)
    np.testing.assert_allclose(np.where(negative, -1, 1) * dev.normalized_levels()[k], levels)


def test_bad_inputs_raise_parameter_errors():
    with pytest.raises(ParameterError):
        nearest(np.zeros(3), np.array([1.0, 0.0]))
    with pytest.raises(ParameterError, match="scale rule"):
        layer_scale(np.ones(3), uniform_levels(2), "median")
    with pytest.raises(ParameterError, match="bias"):
        quantize_network(_random_net(), uniform_levels(2), bias="ignore")
    with pytest.raises(ParameterError):
        differential_levels(0)
    with pytest.raises(ParameterError):
        paper_states(np.array([4]), 1)
