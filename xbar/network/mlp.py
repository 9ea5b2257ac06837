"""The paper's network: training (scikit-learn), an on-disk cache, and a pluggable forward pass.

The paper (Methods) trains inputs -> 128 sigmoid -> 10 softmax with Adam and
sparse categorical cross-entropy for 40 epochs on inputs in [0, 1]. That is
scikit-learn's ``MLPClassifier(hidden_layer_sizes=(128,), activation='logistic',
solver='adam')`` (softmax output, log-loss). It is trained for exactly ``epochs``
passes (no early stop, like the paper's fixed 40 epochs), seeded, and cached as
an ``.npz`` under a hash of every parameter, so sweeps train once per seed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from xbar.network import datasets
from xbar.util.atomic import atomic_open
from xbar.util.errors import ParameterError
from xbar.util.files import parsing, read_npz
from xbar.util.validate import real_array

#: Hidden width, epochs and Adam step of the paper's network (scikit-learn's default step).
HIDDEN = 128
EPOCHS = 40
LEARNING_RATE = 1e-3
#: Mini-batch size: scikit-learn's default, min(200, n_samples).
BATCH_SIZE = 200

#: Bump when the cached file's content or the training procedure changes.
_CACHE_FORMAT = 2


@dataclass(frozen=True)
class Network:
    """A fully connected network: ``weights[l]`` is [in, out], ``biases[l]`` is [out].

    Hidden layers use the logistic sigmoid; the last layer's outputs are logits
    (softmax does not change their argmax).
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def __post_init__(self):
        if not isinstance(self.weights, (list, tuple)) or not isinstance(self.biases, (list, tuple)):
            raise ParameterError("a network's weights and biases must be lists of arrays")
        object.__setattr__(self, "weights", [real_array(f"weights[{l}]", w) for l, w in enumerate(self.weights)])
        object.__setattr__(self, "biases", [real_array(f"biases[{l}]", b) for l, b in enumerate(self.biases)])
        if len(self.weights) != len(self.biases) or not self.weights:
            raise ParameterError("a network needs one bias vector per weight matrix, and at least one layer")
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            if w.ndim != 2 or b.shape != (w.shape[1],):
                raise ParameterError(f"layer {l}: weights {w.shape} and biases {b.shape} do not fit")
            if l and w.shape[0] != self.weights[l - 1].shape[1]:
                raise ParameterError(f"layer {l} takes {w.shape[0]} inputs, layer {l - 1} gives "
                                     f"{self.weights[l - 1].shape[1]}")

    @property
    def shape(self) -> tuple[int, ...]:
        """Layer widths, inputs first, e.g. (784, 128, 10)."""
        return (self.weights[0].shape[0],) + tuple(w.shape[1] for w in self.weights)


#: ``matvec(layer, x)``: the pre-activation [batch, out] of ``layer`` for inputs ``x`` [batch, in].
MatVec = Callable[[int, np.ndarray], np.ndarray]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, written to stay finite for large |z|."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def forward(network: Network, x: np.ndarray, matvec: MatVec | None = None) -> np.ndarray:
    """Output logits [batch, classes] for inputs ``x`` [batch, features].

    ``matvec(l, a)`` replaces the exact ``a @ W_l + b_l`` of layer ``l`` (for
    example by an analog crossbar); hidden layers then apply the sigmoid.
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != network.shape[0]:
        raise ParameterError(f"inputs must have shape [batch, {network.shape[0]}], got {a.shape}")
    last = len(network.weights) - 1
    for l, (w, b) in enumerate(zip(network.weights, network.biases)):
        z = a @ w + b if matvec is None else np.asarray(matvec(l, a), dtype=np.float64)
        a = z if l == last else sigmoid(z)
    return a


def predict(network: Network, x: np.ndarray, matvec: MatVec | None = None) -> np.ndarray:
    """Class labels [batch]: the argmax of :func:`forward`."""
    return np.argmax(forward(network, x, matvec), axis=1)


def accuracy(network: Network, x: np.ndarray, y: np.ndarray, matvec: MatVec | None = None) -> float:
    """Share of the rows of ``x`` whose predicted label equals ``y`` (0..1)."""
    return float(np.mean(predict(network, x, matvec) == np.asarray(y)))


def _classifier(seed: int, hidden: int, learning_rate: float, epochs: int):
    from sklearn.neural_network import MLPClassifier

    # A RandomState instance (not the int) keeps one random stream across the
    # epoch-by-epoch partial_fit calls, so each epoch gets a fresh shuffle;
    # n_iter_no_change=epochs turns the early stop off, as the paper trains a
    # fixed number of epochs.
    return MLPClassifier(hidden_layer_sizes=(hidden,), activation="logistic", solver="adam",
                         learning_rate_init=learning_rate, batch_size=BATCH_SIZE, max_iter=epochs,
                         n_iter_no_change=epochs, random_state=np.random.RandomState(seed))


def train(dataset: datasets.Dataset, seed: int = 0, hidden: int = HIDDEN, epochs: int = EPOCHS,
          learning_rate: float = LEARNING_RATE, progress: bool = False) -> Network:
    """Train the paper's network on ``dataset`` for ``epochs`` Adam epochs (seeded).

    BLAS runs on one thread: the matrices are small, and on shared cores more
    threads made an epoch ten times slower. One ``partial_fit`` per epoch drives
    the progress bar. It is the same
    algorithm as ``fit(max_iter=epochs)``: the same initial weights, the Adam
    state carried over, one reshuffle per epoch; only the random order of the
    shuffles differs (``fit`` reshuffles the previous order, not ``arange``).
    """
    from threadpoolctl import threadpool_limits
    from tqdm.auto import tqdm

    if int(epochs) < 1 or int(hidden) < 1 or not learning_rate > 0:
        raise ParameterError(f"need epochs >= 1, hidden >= 1 and learning_rate > 0, got "
                             f"{epochs!r}, {hidden!r}, {learning_rate!r}")
    clf = _classifier(int(seed), int(hidden), float(learning_rate), int(epochs))
    classes = np.arange(dataset.n_classes)
    bar = tqdm(range(int(epochs)), desc=f"train {dataset.name} seed {seed}", unit="epoch",
               disable=not progress, leave=False)
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in bar:
            clf.partial_fit(dataset.x_train, dataset.y_train, classes=classes)
            bar.set_postfix(loss=f"{clf.loss_:.4f}")
    return Network([np.array(w) for w in clf.coefs_], [np.array(b) for b in clf.intercepts_])


def default_cache_dir() -> Path:
    """``$XBAR_CACHE_DIR``, else ``$XDG_CACHE_HOME/xbar``, else ``~/.cache/xbar``."""
    if os.environ.get("XBAR_CACHE_DIR"):
        return Path(os.environ["XBAR_CACHE_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "xbar"


def training_key(dataset: str, seed: int = 0, hidden: int = HIDDEN, epochs: int = EPOCHS,
                 learning_rate: float = LEARNING_RATE) -> str:
    """Hex key of a training run: every parameter, the data's checksums and the library versions."""
    from importlib.metadata import version  # importing sklearn only for its version took ~1.5 s

    params = {"format": _CACHE_FORMAT, "dataset": datasets.canonical_name(dataset),
              "data": datasets.data_fingerprint(dataset), "seed": int(seed), "hidden": int(hidden),
              "epochs": int(epochs), "learning_rate": float(learning_rate), "batch_size": BATCH_SIZE,
              "activation": "logistic", "solver": "adam", "sklearn": version("scikit-learn"),
              "numpy": np.__version__}
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:20]


def save(network: Network, path: Path) -> None:
    """Write ``network`` to ``path`` (npz) atomically: a temporary file, then a rename."""
    arrays = {f"w{l}": w for l, w in enumerate(network.weights)}
    arrays.update({f"b{l}": b for l, b in enumerate(network.biases)})
    with atomic_open(path) as fh:
        np.savez(fh, **arrays)


def load(path: Path) -> Network:
    """Read a network written by :func:`save`; a ParameterError if the file is not one."""
    with parsing(path, "cache entry", "a network written by xbar"):
        f = read_npz(path, "cache entry", "a network written by xbar")
        n = sum(1 for k in f if k.startswith("w"))
        net = Network([np.asarray(f[f"w{l}"], dtype=np.float64) for l in range(n)],
                      [np.asarray(f[f"b{l}"], dtype=np.float64) for l in range(n)])
    if not all(np.isfinite(a).all() for a in net.weights + net.biases):
        raise ParameterError(f"{path} holds non-finite weights")
    return net


def _cached(path: Path, shape: tuple[int, ...]) -> Network | None:
    """The network cached at ``path`` if it loads and has ``shape``; None for a missing or bad entry."""
    try:
        net = load(path)
    except ParameterError:
        return None
    return net if net.shape == shape else None


def network_path(dataset: str, seed: int = 0, hidden: int = HIDDEN, epochs: int = EPOCHS,
                 learning_rate: float = LEARNING_RATE, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where :func:`trained` keeps the network of these parameters (the file may not exist yet)."""
    key = training_key(dataset, seed, hidden, epochs, learning_rate)
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    return root / "networks" / f"{datasets.canonical_name(dataset)}-s{int(seed)}-{key}.npz"


def trained(dataset: str, seed: int = 0, hidden: int = HIDDEN, epochs: int = EPOCHS,
            learning_rate: float = LEARNING_RATE, data_dir: str | os.PathLike | None = None,
            cache_dir: str | os.PathLike | None = None, progress: bool = False) -> Network:
    """The network trained on ``dataset`` with these parameters, from the cache or trained now.

    The cache lives in ``cache_dir`` (default :func:`default_cache_dir`) under
    ``networks/<dataset>-s<seed>-<key>.npz``; the dataset is loaded only on a miss. A
    cached file that is unreadable, non-finite or of the wrong shape is not trusted:
    the network is trained again and the entry replaced.
    """
    path = network_path(dataset, seed, hidden, epochs, learning_rate, cache_dir)
    net = _cached(path, (datasets.FEATURES[datasets.canonical_name(dataset)], int(hidden), datasets.CLASSES))
    if net is not None:
        return net
    net = train(datasets.load(dataset, data_dir), seed, hidden, epochs, learning_rate, progress)
    save(net, path)
    return net
