"""Your own network as ONNX: train a small ReLU MLP on the digits training split and export it.

    python examples/own_onnx_model.py [FILE]      # default ./my_digits.onnx
    xbar infer --model FILE --limit 200           # then: the test set on crossbar circuits

The model is trained on ``xbar.load_dataset("digits").x_train`` only: ``xbar
infer`` evaluates on that split's test images, so training on them would leak.
The graph is written with ``onnx.helper`` (Gemm, Relu, Gemm), the form
``torch.onnx.export`` gives a PyTorch MLP, and checked against scikit-learn
with ONNX's reference runtime before it is saved.
"""

import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import xbar

path = sys.argv[1] if len(sys.argv) > 1 else "my_digits.onnx"
data = xbar.load_dataset("digits")  # pixels in [0, 1], the inputs xbar drives at V_read

with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    clf = MLPClassifier(hidden_layer_sizes=(32,), activation="relu", max_iter=300, random_state=0)
    clf.fit(data.x_train, data.y_train)

(w0, w1), (b0, b1) = clf.coefs_, clf.intercepts_  # w [in, out], b [out]
weights = [numpy_helper.from_array(a.astype(np.float32), name)
           for a, name in ((w0, "w0"), (b0, "b0"), (w1, "w1"), (b1, "b1"))]
graph = helper.make_graph(
    [helper.make_node("Gemm", ["image", "w0", "b0"], ["h"]),
     helper.make_node("Relu", ["h"], ["a"]),
     helper.make_node("Gemm", ["a", "w1", "b1"], ["logits"])],
    "digits_mlp",
    [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 64])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
    initializer=weights)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)

(logits,) = ReferenceEvaluator(model).run(None, {"image": data.x_test.astype(np.float32)})
assert (logits.argmax(1) == clf.predict(data.x_test)).mean() > 0.99, "the export does not match scikit-learn"
onnx.save(model, path)
print(f"{path}: 64-32-10 ReLU MLP, test accuracy {100 * clf.score(data.x_test, data.y_test):.1f} % "
      f"(trained on {len(data.x_train)} training images; xbar infer tests on the other {len(data.x_test)})")
