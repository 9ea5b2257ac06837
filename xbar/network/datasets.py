"""Datasets: MNIST and Fashion-MNIST from their IDX files, and scikit-learn's 8x8 digits.

MNIST and Fashion-MNIST are read from their original gzip-compressed IDX files in
``<data_dir>/mnist/`` and ``<data_dir>/fashion-mnist/``, or in ``<data_dir>`` itself
when it holds the IDX files (either layout works). The data directory is the
``data_dir`` argument, else ``$XBAR_DATA_DIR``, else ``$XDG_CACHE_HOME/xbar/data``
(``~/.cache/xbar/data``). Every file's MD5 is checked against the published value.
A missing file is downloaded into the data directory from the standard mirror
(atomically, checksum first); without internet the error says which files to put
where. ``digits`` is scikit-learn's bundled 8x8 digits set and needs no files.

Images become rows of float64 pixels scaled to [0, 1], as in the paper's Methods.
"""

from __future__ import annotations

import functools
import gzip
import http.client
import hashlib
import os
import struct
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xbar.util.atomic import atomic_open
from xbar.util.files import LIMITS, open_file, parsing
from xbar.util.errors import ParameterError, XbarError
from xbar.util.validate import int_array, real_array

#: Seconds a download may wait for the server before giving up.
DOWNLOAD_TIMEOUT_S = 10.0

#: Held-out share and seed of the fixed train/test split of the digits set.
DIGITS_TEST_FRACTION = 0.25
DIGITS_SPLIT_SEED = 0


@dataclass(frozen=True)
class _Source:
    folder: str
    url: str
    md5: dict[str, str]


_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

_SOURCES = {
    "mnist": _Source("mnist", "https://ossci-datasets.s3.amazonaws.com/mnist/", dict(zip(_FILES, (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
        "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")))),
    "fashion": _Source("fashion-mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                       dict(zip(_FILES, (
                           "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                           "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")))),
}

#: Names :func:`load` accepts.
NAMES = ("mnist", "fashion", "digits")
#: Features (pixels) per image and classes of each dataset.
FEATURES = {"mnist": 784, "fashion": 784, "digits": 64}
CLASSES = 10


@dataclass(frozen=True)
class Dataset:
    """A classification set: ``x_*`` [N, features] float64 in [0, 1], ``y_*`` [N] int64 labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __post_init__(self):
        if not (isinstance(self.name, str) and self.name.isprintable() and 0 < len(self.name) <= 80):
            raise ParameterError(f"dataset name must be one printable line, got {self.name!r}")
        for part in ("train", "test"):
            x = real_array(f"x_{part}", getattr(self, f"x_{part}"), 2)
            y = int_array(f"y_{part}", getattr(self, f"y_{part}"), 1)
            if len(x) != len(y):
                raise ParameterError(f"x_{part} has {len(x)} samples but y_{part} has {len(y)} labels")
            object.__setattr__(self, f"x_{part}", x)
            object.__setattr__(self, f"y_{part}", y)

    @property
    def n_features(self) -> int:
        """Values per image (64 for digits, 784 for MNIST)."""
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        """Number of classes (labels are 0..n_classes - 1)."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def default_data_dir() -> Path:
    """``$XBAR_DATA_DIR``, else ``$XDG_CACHE_HOME/xbar/data``, else ``~/.cache/xbar/data``."""
    if os.environ.get("XBAR_DATA_DIR"):
        return Path(os.environ["XBAR_DATA_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "xbar" / "data"


def file_md5(path: Path) -> str:
    """Hex MD5 of a file, read in chunks."""
    digest = hashlib.md5()
    with open_file(path, "dataset file") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def canonical_name(name: str) -> str:
    """``name`` as one of :data:`NAMES` (``fashion-mnist`` is an alias of ``fashion``)."""
    key = str(name).lower().replace("_", "-")
    key = {"fashion-mnist": "fashion"}.get(key, key)
    if key not in NAMES:
        raise ParameterError(f"unknown dataset {name!r}: choose one of {', '.join(NAMES)}")
    return key


def data_fingerprint(name: str) -> str:
    """A string that changes when the data behind ``name`` could change (for cache keys)."""
    key = canonical_name(name)
    if key == "digits":
        import sklearn
        return f"sklearn-digits-{sklearn.__version__}-{DIGITS_TEST_FRACTION}-{DIGITS_SPLIT_SEED}"
    return "-".join(_SOURCES[key].md5[f] for f in _FILES)


def _download(url: str, target: Path, md5: str) -> None:
    """Fetch ``url`` to ``target`` through a temporary file; keep it only if the MD5 matches."""
    digest = hashlib.md5()
    # connect first: a failed download creates no folder and no file
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp, atomic_open(target) as out:
        for chunk in iter(lambda: resp.read(1 << 20), b""):
            digest.update(chunk)
            out.write(chunk)
        if digest.hexdigest() != md5:
            raise XbarError(f"download of {url} has MD5 {digest.hexdigest()}, expected {md5}")


def _missing_ancestors(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders a failed download created, deepest first, as long as they are empty."""
    for f in folders:
        try:
            f.rmdir()
        except OSError:
            return


def dataset_folder(key: str, data_dir: Path) -> Path:
    """Where the IDX files of ``key`` are: ``data_dir/<folder>/`` (e.g. ``mnist/``), or ``data_dir``
    itself when it holds the IDX files directly. Both layouts are accepted; downloads go to the first."""
    nested = data_dir / _SOURCES[key].folder
    if not nested.is_dir() and any((data_dir / f).is_file() for f in _FILES):
        return data_dir
    return nested


def _fetch(key: str, data_dir: Path, download: bool) -> dict[str, Path]:
    """Paths of the four verified IDX files of ``key``, downloading missing ones if allowed."""
    src = _SOURCES[key]
    folder = dataset_folder(key, data_dir)
    paths = {}
    for fname, md5 in src.md5.items():
        path = folder / fname
        if not path.is_file():
            missing = ", ".join(f for f in _FILES if not (folder / f).is_file())
            where = (f"put {missing} (from {src.url}) into {folder}, "
                     f"or point --data-dir / XBAR_DATA_DIR at the folder holding them or at its parent")
            if not download:
                raise XbarError(f"{key} file {path} is missing: {where}")
            created = _missing_ancestors(folder)
            try:
                _download(src.url + fname, path, md5)
            except (OSError, http.client.HTTPException) as exc:
                _remove_empty(created)
                reason = getattr(exc, "reason", None) or exc.strerror or exc
                raise XbarError(f"{key} file {path} is missing and its download failed ({reason}): {where}")
            except BaseException:
                _remove_empty(created)
                raise
        actual = file_md5(path)
        other = [k for k, o in _SOURCES.items() if k != key and o.md5.get(fname) == actual]
        if other:
            raise XbarError(f"{path} is the {other[0]} file {fname}, not the {key} one: point --data-dir at "
                            f"the {src.folder}/ folder, or at the folder that holds it")
        if actual != md5:
            raise XbarError(f"{path} has MD5 {actual}, expected {md5}: delete it, or replace it with "
                            f"the original file from {src.url}")
        paths[fname] = path
    return paths


def read_idx(path: Path) -> np.ndarray:
    """Array stored in one gzip-compressed IDX file (unsigned bytes, any number of dims)."""
    cap = LIMITS["dataset file"]
    with open_file(path, "dataset file") as f, parsing(path, "dataset file", "a gzip-compressed IDX file"), \
            gzip.open(f, "rb") as fh:
        raw = fh.read(cap + 1)
    if len(raw) > cap:
        raise ParameterError(f"dataset file {path}: decompresses to more than {cap >> 20} MiB, too large for a dataset file")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ParameterError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    if len(raw) - header != int(np.prod(shape)):
        raise ParameterError(f"{path}: IDX header says shape {shape}, but holds {len(raw) - header} bytes")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _idx_dataset(key: str, data_dir: Path, download: bool) -> Dataset:
    p = _fetch(key, data_dir, download)

    def images(fname):
        x = read_idx(p[fname])
        x = x.reshape(len(x), -1).astype(np.float64)
        x /= 255.0  # in place: one 376 MB array for MNIST's training set, not two
        return x

    return Dataset(key, images(_FILES[0]), read_idx(p[_FILES[1]]).astype(np.int64),
                   images(_FILES[2]), read_idx(p[_FILES[3]]).astype(np.int64))


def _digits() -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=DIGITS_TEST_FRACTION,
                                              random_state=DIGITS_SPLIT_SEED, stratify=y)
    return Dataset("digits", x_tr, y_tr, x_te, y_te)


@functools.lru_cache(maxsize=2)
def _load_cached(key: str, data_dir: Path | None, download: bool) -> Dataset:
    ds = _digits() if key == "digits" else _idx_dataset(key, data_dir, download)
    for arr in (ds.x_train, ds.y_train, ds.x_test, ds.y_test):
        arr.flags.writeable = False
    return ds


def load(name: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Load dataset ``name`` (``mnist``, ``fashion`` or ``digits``).

    ``data_dir`` defaults to :func:`default_data_dir`. Results are memoized per
    process (arrays are read-only), so repeated calls in one worker are free.
    """
    key = canonical_name(name)
    root = None if key == "digits" else Path(data_dir).expanduser() if data_dir else default_data_dir()
    if root is not None and root.exists() and not root.is_dir():
        raise ParameterError(f"data folder {root} is a file; give the folder of the IDX files or its parent")
    return _load_cached(key, root.resolve() if root else None, bool(download))
