"""Train a LeNet-5-style CNN on MNIST or Fashion-MNIST with PyTorch and export it to ONNX.

Outside xbar on purpose: this is how a user brings a network trained elsewhere
(``xbar infer --model lenet.onnx``). PyTorch is optional and never a dependency
of xbar (``pip install torch``). The trained file is not committed.

    python benchmarks/train_lenet.py --dataset mnist --epochs 3 -o lenet-mnist.onnx
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=("mnist", "fashion"), default="mnist")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data-dir", help="IDX folder (default $XBAR_DATA_DIR)")
    p.add_argument("-o", "--output", default="lenet.onnx")
    args = p.parse_args(argv)
    try:
        import torch
        from torch import nn
    except ImportError:
        print("train_lenet: PyTorch is not installed (pip install torch); it is optional", file=sys.stderr)
        return 2
    import numpy as np

    from xbar.util.atomic import atomic_open
    from xbar.network.datasets import load

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    data = load(args.dataset, args.data_dir)
    side = int(round(np.sqrt(data.n_features)))
    x_train = torch.tensor(data.x_train, dtype=torch.float32).reshape(-1, 1, side, side)
    y_train = torch.tensor(data.y_train, dtype=torch.long)
    x_test = torch.tensor(data.x_test, dtype=torch.float32).reshape(-1, 1, side, side)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(x_train))
        model.train()
        for k in range(0, len(perm), 128):
            idx = perm[k:k + 128]
            opt.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            acc = (model(x_test).argmax(1).numpy() == data.y_test).mean()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, test accuracy {100 * acc:.2f} % "
              f"({time.perf_counter() - start:.0f} s)")
    with atomic_open(args.output) as f:
        torch.onnx.export(model, x_test[:1], f, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
