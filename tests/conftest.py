"""Shared test helpers: where the MNIST/Fashion-MNIST IDX files are, for tests that need them."""

import os
from pathlib import Path

import pytest


def shared_data_dir() -> Path:
    """``$XBAR_DATA_DIR`` when set, else the checkout's ``../shared/data``."""
    env = os.environ.get("XBAR_DATA_DIR")
    return Path(env).expanduser() if env else Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def has_idx(name: str = "mnist") -> bool:
    """Whether :func:`shared_data_dir` holds ``name``'s IDX files, in ``<dir>/<name>/`` or in ``<dir>``."""
    root = shared_data_dir()
    return (root / name / "t10k-labels-idx1-ubyte.gz").is_file() or (root / "t10k-labels-idx1-ubyte.gz").is_file()


#: Skip unless the MNIST IDX files are at ``$XBAR_DATA_DIR`` or ``../shared/data``.
needs_mnist = pytest.mark.skipif(not has_idx("mnist"), reason=f"no MNIST IDX files in {shared_data_dir()} "
                                                               "(set XBAR_DATA_DIR)")
