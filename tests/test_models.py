"""Imported networks: ONNX MLPs and CNNs and .npz weights, against onnxruntime and on circuits."""

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from xbar.network.datasets import load
from xbar.util.errors import ParameterError
from xbar.experiments.circuits import compare, input_scales
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.analog import AnalogNetwork
from xbar.network.models import Conv, Dense, from_network, load_model
from xbar.network.mlp import Network

ort = pytest.importorskip("onnxruntime")
RNG = np.random.default_rng(0)


def tensor(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def save(graph_nodes, inits, in_shape, out_dim, path, opset=13):
    graph = helper.make_graph(
        graph_nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", out_dim])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def w(*shape, scale=0.4):
    return RNG.normal(0, scale, shape)


def mlp_onnx(path):
    nodes = [
        helper.make_node("Gemm", ["x", "w0", "b0"], ["h0"], transB=1),
        helper.make_node("Relu", ["h0"], ["a0"]),
        helper.make_node("MatMul", ["a0", "w1"], ["h1"]),
        helper.make_node("Add", ["h1", "b1"], ["z1"]),
        helper.make_node("Tanh", ["z1"], ["a1"]),
        helper.make_node("Gemm", ["a1", "w2", "b2"], ["h2"], alpha=0.9, beta=1.1),
        helper.make_node("Sigmoid", ["h2"], ["a2"]),
        helper.make_node("Gemm", ["a2", "w3", "b3"], ["z3"]),
        helper.make_node("Softmax", ["z3"], ["y"], axis=-1),
    ]
    inits = [tensor("w0", w(20, 64)), tensor("b0", w(20)), tensor("w1", w(20, 16)), tensor("b1", w(16)),
             tensor("w2", w(16, 12)), tensor("b2", w(12)), tensor("w3", w(12, 10)), tensor("b3", w(10))]
    return save(nodes, inits, [64], 10, path)


def cnn_onnx(path, in_shape=(1, 8, 8)):
    nodes = [
        helper.make_node("Conv", ["x", "k0", "c0"], ["h0"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["h0"], ["a0"]),
        helper.make_node("MaxPool", ["a0"], ["p0"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p0", "k1"], ["h1"], strides=[1, 1], dilations=[1, 1]),
        helper.make_node("Add", ["h1", "c1"], ["z1"]),
        helper.make_node("Sigmoid", ["z1"], ["a1"]),
        helper.make_node("AveragePool", ["a1"], ["p1"], kernel_shape=[2, 2], strides=[1, 1], pads=[1, 1, 0, 0]),
        helper.make_node("Flatten", ["p1"], ["f"], axis=1),
        helper.make_node("Reshape", ["f", "shape"], ["r"]),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], transB=1),
    ]
    side = in_shape[1] // 2 - 2
    inits = [tensor("k0", w(4, in_shape[0], 3, 3)), tensor("c0", w(4)), tensor("k1", w(6, 4, 3, 3)),
             tensor("c1", w(6, 1, 1)), numpy_helper.from_array(np.array([-1, 6 * side * side], np.int64), "shape"),
             tensor("w2", w(10, 6 * side * side)), tensor("b2", w(10))]
    return save(nodes, inits, list(in_shape), 10, path)


@pytest.fixture(scope="module")
def digits():
    return load("digits")


@pytest.mark.parametrize("build", [mlp_onnx, cnn_onnx])
def test_full_precision_forward_equals_onnxruntime(tmp_path, digits, build):
    path = build(tmp_path / "m.onnx")
    model = load_model(path)
    x = digits.x_test[:200]
    session = ort.InferenceSession(str(path))
    feed = x.reshape((len(x),) + model.input_shape).astype(np.float32)
    expected = session.run(None, {"x": feed})[0]
    got = model.forward(x)
    assert np.abs(got - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())


@pytest.mark.parametrize("build", [mlp_onnx, cnn_onnx])
@pytest.mark.parametrize("scheme", ["differential", "reference"])
def test_zero_parasitics_analog_equals_ideal_quantized(tmp_path, digits, build, scheme):
    model = load_model(build(tmp_path / "m.onnx"))
    spec = CircuitSpec(n_cells=3, wire_ohm=0.0, channel_ohm=0.0, tile_rows=24, tile_cols=24, scheme=scheme)
    net = AnalogNetwork(model, spec, input_scales=input_scales(model, digits.x_train[:64]))
    assert net.input_scales[0] == 1.0 and max(net.input_scales) > 1.0  # ReLU/Tanh layers are rescaled
    analog, ideal, layers = net.run(digits.x_test[:40])
    assert np.abs(analog - ideal).max() <= 1e-9 * np.abs(ideal).max()
    for res in layers:
        assert np.abs(res.z_analog - res.z_ideal).max() <= 1e-9 * np.abs(res.z_ideal).max()
    # Ideal quantized is the model with its quantized matrices, each divided back by its input scale.
    q = [(m.weights()[:-1] / s, m.weights()[-1]) for m, s in zip(net.layers, net.input_scales)]
    expected = model.forward(digits.x_test[:40], lambda k, a: a @ q[k][0] + q[k][1])
    assert np.abs(ideal - expected.reshape(len(expected), -1)).max() <= 1e-9 * np.abs(expected).max()


def test_convolutions_go_through_tiles(tmp_path, digits):
    model = load_model(cnn_onnx(tmp_path / "m.onnx"))
    assert [type(op) for op in model.ops if isinstance(op, (Conv, Dense))] == [Conv, Conv, Dense]
    rec = compare(model, digits, CircuitSpec(wire_ohm=1.0, tile_rows=32, tile_cols=32), n_test=50)
    assert rec["accuracy_paper_quantized"] is None and len(rec["layers"]) == 3
    assert 0 < rec["layers"][0]["rms_rel"] < 1


def test_paper_mlp_as_a_model_is_the_same_forward(digits):
    rng = np.random.default_rng(1)
    net = Network([rng.normal(size=(64, 16)), rng.normal(size=(16, 10))], [rng.normal(size=16), rng.normal(size=10)])
    from xbar.network.mlp import forward
    assert np.array_equal(from_network(net).forward(digits.x_test[:30]), forward(net, digits.x_test[:30]))


def test_npz_model(tmp_path, digits):
    arrays = dict(w0=w(64, 16), b0=w(16), w1=w(16, 10), b1=w(10), activations=np.array(["relu", "none"]))
    np.savez(tmp_path / "m.npz", **arrays)
    model = load_model(tmp_path / "m.npz")
    x = digits.x_test[:20]
    assert np.allclose(model.forward(x), np.maximum(x @ arrays["w0"] + arrays["b0"], 0) @ arrays["w1"] + arrays["b1"],
                       rtol=1e-13, atol=1e-13)


BAD_MODELS = {
    "unknown operator": (lambda p: save([helper.make_node("Gemm", ["x", "w0"], ["h"], transB=1),
                                         helper.make_node("LpNormalization", ["h"], ["n"]),
                                         helper.make_node("Erf", ["n"], ["y"])],
                                        [tensor("w0", w(10, 64))], [64], 10, p),
                         "unsupported ONNX operator\\(s\\) Erf, LpNormalization"),
    "not a chain": (lambda p: save([helper.make_node("Gemm", ["x", "w0"], ["h"], transB=1),
                                    helper.make_node("Relu", ["h"], ["a"]),
                                    helper.make_node("Add", ["a", "h"], ["y"])],
                                   [tensor("w0", w(10, 64))], [64], 10, p),
                    "not a chain"),
    "grouped convolution": (lambda p: save([helper.make_node("Conv", ["x", "k"], ["c"], group=2),
                                            helper.make_node("Flatten", ["c"], ["y"])],
                                           [tensor("k", w(2, 1, 3, 3))], [2, 8, 8], 72, p),
                            "group=2"),
}


@pytest.mark.bad_input
@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_onnx_models_are_refused(tmp_path, case):
    build, match = BAD_MODELS[case]
    with pytest.raises(ParameterError, match=match) as info:
        load_model(build(tmp_path / "m.onnx"))
    assert "\n" not in str(info.value)


@pytest.mark.bad_input
@pytest.mark.parametrize("arrays, match", [
    (dict(b0=np.zeros(3)), "no weights"),
    (dict(w0=np.zeros((64, 3))), "no bias b0"),
    (dict(w0=np.zeros((64, 3)), b0=np.zeros(4)), "need \\[in, out\\] and \\[out\\]"),
    (dict(w0=np.full((64, 3), np.nan), b0=np.zeros(3)), "non-finite"),
    (dict(w0=np.zeros((64, 3)), b0=np.zeros(3), w1=np.zeros((4, 2)), b1=np.zeros(2)), "takes 4 inputs"),
    (dict(w0=np.zeros((64, 3)), b0=np.zeros(3), extra=np.zeros(1)), "unknown array 'extra'"),
])
def test_bad_npz_models_are_refused(tmp_path, arrays, match):
    np.savez(tmp_path / "m.npz", **arrays)
    with pytest.raises(ParameterError, match=match):
        load_model(tmp_path / "m.npz")


@pytest.mark.bad_input
@pytest.mark.parametrize("case", ["input size", "unknown operator", "missing file", "not onnx"])
def test_bad_model_on_the_command_line_writes_nothing(tmp_path, case):
    path = tmp_path / "m.onnx"
    if case == "input size":
        cnn_onnx(path, in_shape=(1, 28, 28))   # an MNIST-sized model on the 8x8 digits
        match = "takes inputs of shape [1, 28, 28] (784 values), but digits images have 64 values"
    elif case == "unknown operator":
        BAD_MODELS["unknown operator"][0](path)
        match = "unsupported ONNX operator(s) Erf, LpNormalization"
    elif case == "missing file":
        match = "no such file"
    else:
        path.write_bytes(b"not a model")
        match = "not a readable ONNX file"
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "xbar.cli", "infer", "--model", str(path), "--study", "none",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and match in proc.stderr, proc.stderr
    assert not out.exists()
