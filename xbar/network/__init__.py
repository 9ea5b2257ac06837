"""Networks on circuits: datasets, models (the paper's MLP, ONNX, .npz), quantization, mapping onto tiles, analog evaluation and its energy."""
