"""Full-dataset runs: excluded from the default suite; run with `bash scripts/test -m slow`."""

import pytest

from xbar.network.datasets import load
from xbar.experiments.circuits import compare
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.mlp import trained

from conftest import needs_mnist, shared_data_dir

pytestmark = [pytest.mark.slow, needs_mnist]
DATA = shared_data_dir()


def test_mnist_test_set_on_circuits():
    # The 784-128-10 network on 3-cell devices at 1.9 nm, 128x128 tiles, 1 ohm wires
    # (benchmarks/RESULTS.md: 97.73 / 96.86 / 94.26 %, calibrated 96.16 %).
    net, data = trained("mnist", seed=0, data_dir=DATA), load("mnist", DATA)
    rec = compare(net, data, CircuitSpec(wire_ohm=1.0))
    assert rec["n_test"] == 10000
    assert rec["accuracy_full_precision"] > 0.97
    assert rec["accuracy_ideal_quantized"] > 0.95
    assert 0.90 < rec["accuracy_analog"] <= rec["accuracy_ideal_quantized"]
    calibrated = compare(net, data, CircuitSpec(wire_ohm=1.0, calibration_images=256))
    assert calibrated["accuracy_analog"] > rec["accuracy_analog"]
