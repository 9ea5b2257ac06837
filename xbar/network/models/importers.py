"""Networks from outside: ONNX files (read with the ``onnx`` package) and ``.npz`` weights.

ONNX: a chain of Gemm, MatMul (+ Add of a constant bias), Conv, Relu, Sigmoid,
Tanh, Softmax, MaxPool, AveragePool, Flatten and Reshape (Identity and Dropout
pass through; Constant feeds Reshape). The graph must be a chain: every
operation takes the previous one's output. Any other operator is refused in
one line that names it. PyTorch users export with ``torch.onnx.export``.

``.npz`` (an MLP): arrays ``w0, b0, w1, b1, ...`` with ``w<l>`` [in, out] and
``b<l>`` [out]; optional ``activations``, one name per layer (relu, sigmoid,
tanh, softmax or none), default sigmoid between layers and none after the last
(xbar's own network files, the paper's MLP).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xbar.util.errors import ParameterError
from xbar.util.files import check_file, parsing, read_bytes, read_npz
from xbar.network.models.model import ACTIVATIONS, Activation, Conv, Dense, Model, Pool, Reshape

#: Largest weight or bias magnitude accepted: squares and sums of products of larger values
#: overflow double precision (1e300 gives inf and NaN downstream).
MAX_MAGNITUDE = 1e100

SUPPORTED_ONNX = ("Gemm", "MatMul", "Add", "Conv", "Relu", "Sigmoid", "Tanh", "Softmax", "MaxPool",
                  "AveragePool", "Flatten", "Reshape", "Identity", "Dropout", "Constant")


def load_model(path) -> Model:
    """The model in ``path``: ``.onnx`` or ``.npz`` (by suffix)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".onnx", ".npz"):
        raise ParameterError(f"model {path}: unknown format {suffix or '(no suffix)'!r}; give an .onnx or .npz file")
    check_file(path, "model")
    return load_onnx(path) if suffix == ".onnx" else load_npz(path)


def load_npz(path) -> Model:
    """An MLP from ``.npz`` weights (keys in the module docstring)."""
    where = f"model {path}"
    arrays = read_npz(path, "model")
    n = 0
    while f"w{n}" in arrays:
        n += 1
    if n == 0:
        raise ParameterError(f"{where}: no weights; expected arrays w0, b0, w1, b1, ...")
    unknown = sorted(set(arrays) - {f"w{l}" for l in range(n)} - {f"b{l}" for l in range(n)} - {"activations"})
    if unknown:
        raise ParameterError(f"{where}: unknown array {unknown[0]!r} (expected w<l>, b<l>, activations)")
    acts = ["sigmoid"] * (n - 1) + ["none"]
    if "activations" in arrays:
        acts = [str(a).lower() for a in np.atleast_1d(arrays["activations"]).tolist()]
        if len(acts) != n or any(a not in ACTIVATIONS + ("none",) for a in acts):
            raise ParameterError(f"{where}: activations must name one of {', '.join(ACTIVATIONS)} or none "
                                 f"for each of the {n} layers")
    ops = []
    for l in range(n):
        if f"b{l}" not in arrays:
            raise ParameterError(f"{where}: w{l} has no bias b{l}")
        w, b = _finite(arrays[f"w{l}"], f"{where}: w{l}"), _finite(arrays[f"b{l}"], f"{where}: b{l}")
        if w.ndim != 2 or b.shape != (w.shape[1],):
            raise ParameterError(f"{where}: layer {l} has weights {list(w.shape)} and bias {list(b.shape)}; "
                                 "need [in, out] and [out]")
        ops.append(Dense(w, b))
        if acts[l] != "none":
            ops.append(Activation(acts[l]))
    return Model(tuple(ops), (ops[0].weight.shape[0],), f"model {path}")


def _finite(a, where: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind == "c":
        raise ParameterError(f"{where} holds complex values; xbar refuses them rather than drop the imaginary part")
    if a.dtype.kind not in "biuf":
        raise ParameterError(f"{where} is not numeric ({a.dtype})")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ParameterError(f"{where} holds non-finite values")
    if a.size and np.abs(a).max() > MAX_MAGNITUDE:
        raise ParameterError(f"{where} holds values up to {np.abs(a).max():.3g}, past the {MAX_MAGNITUDE:.0e} whose "
                             "products and squares double precision still holds")
    return a


def load_onnx(path) -> Model:
    """A model from an ONNX file (operators in :data:`SUPPORTED_ONNX`)."""
    import onnx

    where = f"model {path}"
    data = read_bytes(path, "model")
    if not data:
        raise ParameterError(f"{where}: the file is empty (0 bytes), not an ONNX model")
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as exc:  # onnx raises DecodeError and others for a damaged file
        raise ParameterError(f"{where}: not a readable ONNX file ({type(exc).__name__})") from None
    with parsing(path, "model", "a consistent ONNX model"):
        return _onnx_model(proto, where)


def _onnx_model(proto, where: str) -> Model:
    """The xbar model of a parsed ONNX ``proto``."""
    import onnx
    from onnx import numpy_helper

    graph = proto.graph
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in graph.initializer):
        raise ParameterError(f"{where}: weights in external data files are not supported; export them inside "
                             "the .onnx file")
    unknown = sorted({n.op_type for n in graph.node} - set(SUPPORTED_ONNX))
    if unknown:
        raise ParameterError(f"{where}: unsupported ONNX operator(s) {', '.join(unknown)}; xbar runs "
                             f"{', '.join(SUPPORTED_ONNX[:-3])}")
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ParameterError(f"{where}: needs exactly one input and one output, has {len(inputs)} and "
                             f"{len(graph.output)}")
    dims = inputs[0].type.tensor_type.shape.dim
    shape = tuple(d.dim_value for d in dims[1:])
    if not shape or any(v < 1 for v in shape):
        raise ParameterError(f"{where}: input {inputs[0].name!r} needs a fixed per-sample shape, got "
                             f"{[d.dim_value or d.dim_param for d in dims]}")
    current = inputs[0].name
    ops: list = []
    for i, node in enumerate(graph.node):
        at = f"{where}: node {i} ({node.op_type})"
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant":
            if "value" not in attrs:
                raise ParameterError(f"{at}: only tensor constants are supported")
            consts[node.output[0]] = numpy_helper.to_array(attrs["value"])
            continue
        data = [x for x in node.input if x and x not in consts]
        if data != [current]:
            raise ParameterError(f"{at}: the graph is not a chain (takes {data}, the previous output is "
                                 f"{current!r})")
        params = [consts[x] for x in node.input if x in consts]
        ops.extend(_onnx_op(node.op_type, attrs, params, ops, at))
        current = node.output[0]
    if current != graph.output[0].name:
        raise ParameterError(f"{where}: the last node does not produce the graph output")
    return Model(tuple(o for o in ops if o is not None), shape, where)


def _pair(v, default=(1, 1), name: str = "", at: str = "") -> tuple[int, int]:
    """Two positive integers from an ONNX attribute (strides, dilations, kernel_shape)."""
    if v is None:
        return default
    p = tuple(int(x) for x in v)
    if len(p) != 2 or min(p) < 1:
        raise ParameterError(f"{at}: {name} must be two integers >= 1 (2-D), got {list(p)}")
    return p


def _pads(attrs: dict, at: str) -> tuple[int, int, int, int]:
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
        raise ParameterError(f"{at}: auto_pad {attrs['auto_pad']!r} is not supported; export explicit pads")
    p = [int(x) for x in attrs.get("pads", [0, 0, 0, 0])]
    if len(p) != 4:
        raise ParameterError(f"{at}: only 2-D pads are supported")
    if min(p) < 0:
        raise ParameterError(f"{at}: pads must be >= 0, got {p}")
    return p[0], p[1], p[2], p[3]


def _onnx_op(op: str, attrs: dict, params: list, ops: list, at: str) -> list:
    """xbar operations for one ONNX node (an Add of a bias is folded into the product before it)."""
    if op in ("Identity", "Dropout"):
        return []
    if op in ("Relu", "Sigmoid", "Tanh"):
        return [Activation(op.lower())]
    if op == "Softmax":
        if attrs.get("axis", -1) not in (-1, 1):
            raise ParameterError(f"{at}: softmax only over the feature axis")
        return [Activation("softmax")]
    if op == "Gemm":
        if len(params) not in (1, 2) or attrs.get("transA", 0):
            raise ParameterError(f"{at}: needs a constant weight (and bias), no transA")
        w = _finite(params[0], f"{at} weight")
        w = w.T if attrs.get("transB", 0) else w
        w = w * float(attrs.get("alpha", 1.0))
        b = (_finite(params[1], f"{at} bias") * float(attrs.get("beta", 1.0))) if len(params) == 2 \
            else np.zeros(w.shape[1])
        return [Dense(w, np.broadcast_to(b, (w.shape[1],)).astype(np.float64))]
    if op == "MatMul":
        if len(params) != 1 or params[0].ndim != 2:
            raise ParameterError(f"{at}: needs a constant 2-D weight as its second input")
        w = _finite(params[0], f"{at} weight")
        return [Dense(w, np.zeros(w.shape[1]))]
    if op == "Add":
        if len(params) != 1 or not ops or not isinstance(ops[-1], (Dense, Conv)):
            raise ParameterError(f"{at}: only a constant bias added right after Gemm, MatMul or Conv is supported")
        prev = ops.pop()
        b = _finite(params[0], f"{at} bias")
        out = prev.bias.shape[0]
        if isinstance(prev, Conv):
            b = b.reshape(-1) if b.size == out else None
        else:
            b = np.broadcast_to(b, (out,)) if b.size in (1, out) and b.ndim <= 2 else None
        if b is None:
            raise ParameterError(f"{at}: bias of shape {list(params[0].shape)} does not fit {out} outputs")
        return [type(prev)(**{**prev.__dict__, "bias": prev.bias + b})]
    if op == "Conv":
        if len(params) not in (1, 2):
            raise ParameterError(f"{at}: needs a constant weight (and bias)")
        w = _finite(params[0], f"{at} weight")
        if w.ndim != 4:
            raise ParameterError(f"{at}: only 2-D convolutions are supported")
        if int(attrs.get("group", 1)) != 1:
            raise ParameterError(f"{at}: group={attrs['group']} (grouped/depthwise) is not supported")
        b = _finite(params[1], f"{at} bias") if len(params) == 2 else np.zeros(w.shape[0])
        return [Conv(w, b, _pair(attrs.get("strides"), name="strides", at=at), _pads(attrs, at),
                     _pair(attrs.get("dilations"), name="dilations", at=at))]
    if op in ("MaxPool", "AveragePool"):
        if attrs.get("ceil_mode", 0) or attrs.get("storage_order", 0) or \
                any(int(d) != 1 for d in attrs.get("dilations", [1, 1])):
            raise ParameterError(f"{at}: ceil_mode, storage_order and dilations are not supported")
        if "kernel_shape" not in attrs:
            raise ParameterError(f"{at}: needs a kernel_shape")
        kernel = _pair(attrs["kernel_shape"], name="kernel_shape", at=at)
        return [Pool("max" if op == "MaxPool" else "avg", kernel, _pair(attrs.get("strides"), name="strides", at=at),
                     _pads(attrs, at), bool(attrs.get("count_include_pad", 0)))]
    if op == "Flatten":
        if attrs.get("axis", 1) != 1:
            raise ParameterError(f"{at}: only Flatten with axis 1 is supported")
        return [Reshape((-1,))]
    # Reshape: the target shape is a constant; its first entry is the batch (-1, 0 or the batch size).
    if len(params) != 1:
        raise ParameterError(f"{at}: the target shape must be a constant")
    target = [int(v) for v in params[0].tolist()]
    if len(target) < 2:
        raise ParameterError(f"{at}: the target shape must keep the batch axis")
    rest = tuple(target[1:])
    if 0 in rest or rest.count(-1) > 1:
        raise ParameterError(f"{at}: unsupported target shape {target}")
    return [Reshape(rest)]
