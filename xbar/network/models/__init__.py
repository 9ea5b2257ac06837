"""Networks xbar runs: the paper's MLP and imported models (ONNX, .npz), behind one forward interface."""

from xbar.network.models.importers import SUPPORTED_ONNX, load_model, load_npz, load_onnx
from xbar.network.models.model import (
    ACTIVATIONS,
    Activation,
    Conv,
    Dense,
    Model,
    Pool,
    Reshape,
    from_network,
    im2col,
)

__all__ = ["ACTIVATIONS", "Activation", "Conv", "Dense", "Model", "Pool", "Reshape", "SUPPORTED_ONNX",
           "from_network", "im2col", "load_model", "load_npz", "load_onnx"]
