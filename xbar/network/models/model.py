"""A feed-forward network as a chain of operations, with one forward pass for every model.

Matrix products (:class:`Dense`, and :class:`Conv` through im2col) are the only
operations a crossbar computes; they are numbered in order (the model's
"matrix layers") and :meth:`Model.forward` calls ``matmul(k, a)`` for each, so
the same pass runs at full precision, ideal-quantized or on circuits. The
digital parts (activations, pooling, reshapes) run in numpy.

Shapes are per sample, batch first at run time: images [batch, channels, height,
width] (ONNX's NCHW), vectors [batch, features].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from xbar.util.errors import ParameterError

ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax")

#: ``matmul(k, a)``: the product of matrix layer ``k`` for its inputs ``a`` [rows, in], bias included.
MatMul = Callable[[int, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Dense:
    """``a @ weight + bias``: weight [in, out], bias [out]."""

    weight: np.ndarray
    bias: np.ndarray


@dataclass(frozen=True)
class Conv:
    """2-D convolution: weight [out, in, kh, kw], bias [out]; stride, dilation (h, w); pads (top, left, bottom, right)."""

    weight: np.ndarray
    bias: np.ndarray
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)

    def matrix(self) -> np.ndarray:
        """The weight as the im2col matrix [in * kh * kw, out]."""
        return self.weight.reshape(self.weight.shape[0], -1).T


@dataclass(frozen=True)
class Activation:
    """Element-wise ``relu``/``sigmoid``/``tanh``, or ``softmax`` over the last axis."""

    kind: str


@dataclass(frozen=True)
class Pool:
    """``max`` or ``avg`` pooling over kernel (kh, kw) with stride and pads (top, left, bottom, right).

    Average pooling divides by the count of real (unpadded) inputs unless ``count_include_pad``.
    """

    kind: str
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    count_include_pad: bool = False


@dataclass(frozen=True)
class Reshape:
    """Reshape each sample to ``shape`` (``(-1,)``: flatten)."""

    shape: tuple[int, ...] = (-1,)


Op = Dense | Conv | Activation | Pool | Reshape


def _out_size(n: int, k: int, s: int, p0: int, p1: int, d: int = 1) -> int:
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def _windows(x: np.ndarray, kh: int, kw: int, stride, pads, dilation=(1, 1), fill: float = 0.0):
    """The kh * kw strided views [batch, c, oh, ow] of ``x`` [batch, c, h, w], one per kernel offset (i, j)."""
    t, l, b, r = pads
    if any(pads):
        x = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=fill)
    (sh, sw), (dh, dw) = stride, dilation
    oh = (x.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (x.shape[3] - dw * (kw - 1) - 1) // sw + 1
    for i in range(kh):
        for j in range(kw):
            yield x[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]


def im2col(x: np.ndarray, kh: int, kw: int, stride, pads, dilation=(1, 1)) -> tuple[np.ndarray, int, int]:
    """Patches of ``x`` [batch, c, h, w] as rows [batch * oh * ow, c * kh * kw] (row order b, oh, ow), oh, ow.

    Built with one block copy per kernel offset into a [c, kh, kw, batch, oh, ow]
    array, whose transpose is the patch matrix (no scattered writes).
    """
    n, c = x.shape[:2]
    views = list(_windows(x, kh, kw, stride, pads, dilation))
    oh, ow = views[0].shape[2:]
    out = np.empty((c, kh * kw, n, oh, ow), dtype=np.float64)
    for k, v in enumerate(views):
        out[:, k] = v.transpose(1, 0, 2, 3)
    return out.reshape(c * kh * kw, n * oh * ow).T, oh, ow


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _activation(kind: str, z: np.ndarray) -> np.ndarray:
    if kind == "relu":
        return np.maximum(z, 0.0)
    if kind == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))
    if kind == "tanh":
        return np.tanh(z)
    return _softmax(z)


def _pool(op: Pool, x: np.ndarray) -> np.ndarray:
    kh, kw = op.kernel
    if op.kind == "max":
        return np.maximum.reduce(list(_windows(x, kh, kw, op.stride, op.pads, fill=-np.inf)))
    total = np.add.reduce(list(_windows(x, kh, kw, op.stride, op.pads)))
    if op.count_include_pad or not any(op.pads):
        return total / float(kh * kw)
    count = np.add.reduce(list(_windows(np.ones((1, 1) + x.shape[2:]), kh, kw, op.stride, op.pads)))
    return total / count


@dataclass(frozen=True)
class Model:
    """A chain of operations on inputs of per-sample ``input_shape``; ``name`` describes where it came from."""

    ops: tuple[Op, ...]
    input_shape: tuple[int, ...]
    name: str = "model"
    shapes: tuple[tuple[int, ...], ...] = field(init=False, repr=False)

    def __post_init__(self):
        if not any(isinstance(op, (Dense, Conv)) for op in self.ops):
            raise ParameterError(f"{self.name}: no matrix product (Gemm, MatMul or Conv) to put on crossbars")
        object.__setattr__(self, "shapes", tuple(self._infer_shapes()))

    def _infer_shapes(self):
        """Per-sample shape after each op; a ParameterError names the first op that does not fit."""
        shape = tuple(self.input_shape)
        out = []
        for i, op in enumerate(self.ops):
            where = f"{self.name}: operation {i} ({type(op).__name__})"
            if isinstance(op, Dense):
                if len(shape) != 1 or shape[0] != op.weight.shape[0]:
                    raise ParameterError(f"{where} takes {op.weight.shape[0]} inputs, gets shape {list(shape)}")
                shape = (op.weight.shape[1],)
            elif isinstance(op, (Conv, Pool)):
                if len(shape) != 3:
                    raise ParameterError(f"{where} needs [channels, height, width] inputs, gets {list(shape)}")
                kh, kw = op.weight.shape[2:] if isinstance(op, Conv) else op.kernel
                dil = op.dilation if isinstance(op, Conv) else (1, 1)
                if min(op.stride) < 1 or min(dil) < 1 or min(kh, kw) < 1 or min(op.pads) < 0:
                    raise ParameterError(f"{where}: strides, dilations and kernel sizes must be >= 1 and pads "
                                         f">= 0, got stride {list(op.stride)}, dilation {list(dil)}, kernel "
                                         f"{[kh, kw]}, pads {list(op.pads)}")
                if isinstance(op, Conv) and op.weight.shape[1] != shape[0]:
                    raise ParameterError(f"{where} takes {op.weight.shape[1]} channels, gets {shape[0]}")
                oh = _out_size(shape[1], kh, op.stride[0], op.pads[0], op.pads[2], dil[0])
                ow = _out_size(shape[2], kw, op.stride[1], op.pads[1], op.pads[3], dil[1])
                if oh < 1 or ow < 1:
                    raise ParameterError(f"{where}: kernel larger than its {shape[1]}x{shape[2]} input")
                shape = (op.weight.shape[0] if isinstance(op, Conv) else shape[0], oh, ow)
            elif isinstance(op, Reshape):
                size = int(np.prod(shape))
                target = list(op.shape)
                if target.count(-1) == 1:
                    rest = int(np.prod([d for d in target if d != -1]))
                    if rest == 0 or size % rest:
                        raise ParameterError(f"{where}: cannot reshape {list(shape)} to {target}")
                    target[target.index(-1)] = size // rest
                if int(np.prod(target)) != size:
                    raise ParameterError(f"{where}: cannot reshape {list(shape)} to {list(op.shape)}")
                shape = tuple(target)
            out.append(shape)
        return out

    @property
    def n_features(self) -> int:
        """Values per input sample (e.g. 784 for [1, 28, 28])."""
        return int(np.prod(self.input_shape))

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one output sample."""
        return self.shapes[-1]

    def matrix_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(W [in, out], b [out]) of every matrix product in order; a Conv gives its im2col matrix."""
        return [(op.weight, op.bias) if isinstance(op, Dense) else (op.matrix(), op.bias)
                for op in self.ops if isinstance(op, (Dense, Conv))]

    def forward(self, x: np.ndarray, matmul: MatMul | None = None) -> np.ndarray:
        """Outputs [batch, ...] for inputs ``x`` [batch, n_features] (or [batch, *input_shape]).

        ``matmul(k, a)`` replaces the exact ``a @ W_k + b_k`` of matrix layer ``k``;
        a Conv's ``a`` is its im2col patches [batch * oh * ow, in * kh * kw].
        """
        x = np.asarray(x, dtype=np.float64)
        if x.shape[1:] != tuple(self.input_shape):
            if x.ndim != 2 or x.shape[1] != self.n_features:
                raise ParameterError(f"{self.name} takes inputs of shape {list(self.input_shape)} "
                                     f"({self.n_features} values), got {list(x.shape[1:])}")
            x = x.reshape((len(x),) + tuple(self.input_shape))
        layers = self.matrix_layers()
        k = 0
        for op in self.ops:
            if isinstance(op, (Dense, Conv)):
                w, b = layers[k]
                if isinstance(op, Dense):
                    a = x
                else:
                    n = len(x)
                    a, oh, ow = im2col(x, *op.weight.shape[2:], op.stride, op.pads, op.dilation)
                z = a @ w + b if matmul is None else np.asarray(matmul(k, a), dtype=np.float64)
                if not np.isfinite(z).all():
                    raise ParameterError(f"{self.name}: matrix layer {k} gives non-finite values (weights or "
                                         "inputs too large for double precision); refusing the result")
                x = z if isinstance(op, Dense) else z.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)
                k += 1
            elif isinstance(op, Activation):
                x = _activation(op.kind, x)
            elif isinstance(op, Pool):
                x = _pool(op, x)
            else:
                x = x.reshape((len(x),) + tuple(op.shape))
        if not np.isfinite(x).all():
            raise ParameterError(f"{self.name}: the outputs are not finite (weights too large for double "
                                 "precision); refusing them")
        return x

    def predict(self, x: np.ndarray, matmul: MatMul | None = None) -> np.ndarray:
        """Class labels [batch]: argmax of the flattened outputs."""
        out = self.forward(x, matmul)
        return out.reshape(len(out), -1).argmax(axis=1)


def from_network(network) -> Model:
    """The paper's MLP (:class:`xbar.network.mlp.Network`) as a model: Dense, sigmoid, ..., Dense (logits)."""
    ops: list[Op] = []
    for l, (w, b) in enumerate(zip(network.weights, network.biases)):
        if l:
            ops.append(Activation("sigmoid"))
        ops.append(Dense(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)))
    return Model(tuple(ops), (network.shape[0],), "the paper's MLP")
