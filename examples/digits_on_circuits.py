"""The paper's network on the bundled digits, run through crossbar circuits from Python.

    python examples/digits_on_circuits.py

What ``xbar infer`` does, in a few calls: train (or load from the cache) the
paper's 64-128-10 sigmoid network on the digits training split, map it onto
3-cell compound SOT-MTJ tiles with 1 ohm wires, and compare the circuits'
answers with ideal quantized inference on the same conductances.
"""

import numpy as np

import xbar

data = xbar.load_dataset("digits")  # fixed stratified split: 1347 training, 450 test images
network = xbar.trained("digits")  # trained on data.x_train only; cached under ~/.cache/xbar
x, y = data.x_test[:200], data.y_test[:200]

for wire_ohm in (0.0, 1.0, 5.0):
    spec = xbar.CircuitSpec(n_cells=3, thickness_nm=1.9, wire_ohm=wire_ohm, tile_rows=64, tile_cols=64)
    analog, ideal, layers = xbar.AnalogNetwork(network, spec).run(x)
    acc_analog = np.mean(analog.argmax(1) == y)
    acc_ideal = np.mean(ideal.argmax(1) == y)
    err = np.sqrt(np.mean((layers[0].z_analog - layers[0].z_ideal) ** 2) / np.mean(layers[0].z_ideal ** 2))
    print(f"wires {wire_ohm:g} ohm: ideal quantized {100 * acc_ideal:.1f} %, analog {100 * acc_analog:.1f} %, "
          f"layer-0 RMS error {err:.3f}")
