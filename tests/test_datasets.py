"""Datasets: bundled digits, IDX parsing, MD5 checks, download and the clean missing-file error."""

import gzip
import hashlib
import io
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from xbar.network import datasets
from xbar.util.errors import ParameterError, XbarError

from conftest import has_idx, shared_data_dir

SHARED_DATA = shared_data_dir()
needs_shared = pytest.mark.skipif(not (has_idx("mnist") and has_idx("fashion-mnist")),
                                  reason=f"no IDX files in {SHARED_DATA} (set XBAR_DATA_DIR)")


@pytest.fixture(autouse=True)
def _fresh_memo():
    datasets._load_cached.cache_clear()
    yield
    datasets._load_cached.cache_clear()


def _idx_gz(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_source(monkeypatch):
    """A fake 'mnist' of 6 train and 4 test 28x28 images, served by a fake urlopen."""
    rng = np.random.default_rng(0)
    blobs = dict(zip(datasets._FILES, (
        _idx_gz(rng.integers(0, 256, (6, 28, 28))), _idx_gz(np.arange(6) % 10),
        _idx_gz(rng.integers(0, 256, (4, 28, 28))), _idx_gz(np.arange(4)))))
    src = datasets._Source("mnist", "https://example.invalid/mnist/",
                           {f: hashlib.md5(b).hexdigest() for f, b in blobs.items()})
    monkeypatch.setitem(datasets._SOURCES, "mnist", src)
    fetched = []

    def urlopen(url, timeout):
        fetched.append(url)
        return io.BytesIO(blobs[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(datasets.urllib.request, "urlopen", urlopen)
    return blobs, fetched


def test_digits_is_bundled_with_a_fixed_split():
    a = datasets.load("digits")
    assert a.x_train.shape == (1347, 64) and a.x_test.shape == (450, 64)
    assert a.x_train.dtype == np.float64 and 0.0 <= a.x_train.min() and a.x_train.max() <= 1.0
    assert a.n_classes == 10 and not a.x_train.flags.writeable
    datasets._load_cached.cache_clear()
    b = datasets.load("digits")
    np.testing.assert_array_equal(a.y_test, b.y_test)


def test_missing_file_error_says_where_to_put_what(tmp_path):
    with pytest.raises(XbarError) as err:
        datasets.load("mnist", tmp_path, download=False)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(tmp_path / "mnist") in msg and "t10k-labels-idx1-ubyte.gz" in msg and "XBAR_DATA_DIR" in msg


def test_download_failure_is_one_clean_line(tmp_path, monkeypatch):
    def offline(url, timeout):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", offline)
    with pytest.raises(XbarError, match="download failed.*Name or service not known.*put train-images") as err:
        datasets.load("fashion", tmp_path)
    assert "\n" not in str(err.value)
    assert not list((tmp_path / "fashion-mnist").glob("*"))


def test_download_fills_the_cache_with_verified_files(tmp_path, tiny_source):
    blobs, fetched = tiny_source
    ds = datasets.load("mnist", tmp_path)
    assert ds.x_train.shape == (6, 784) and ds.x_test.shape == (4, 784)
    np.testing.assert_array_equal(ds.y_train, np.arange(6))
    assert len(fetched) == 4
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(blobs)
    datasets._load_cached.cache_clear()
    datasets.load("mnist", tmp_path)
    assert len(fetched) == 4  # second load reads the cache


def test_download_with_wrong_checksum_leaves_nothing(tmp_path, tiny_source, monkeypatch):
    monkeypatch.setattr(datasets.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"not the file"))
    with pytest.raises(XbarError, match="MD5"):
        datasets.load("mnist", tmp_path)
    assert not (tmp_path / "mnist").exists()  # not even the folder


def test_md5_mismatch_of_a_present_file_is_reported(tmp_path, tiny_source):
    blobs, _ = tiny_source
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, blob in blobs.items():
        (folder / name).write_bytes(blob)
    (folder / datasets._FILES[1]).write_bytes(_idx_gz(np.arange(6)[::-1]))
    with pytest.raises(XbarError, match=f"{datasets._FILES[1]} has MD5 .*, expected"):
        datasets.load("mnist", tmp_path)


def test_read_idx_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x0d\x01\x00\x00\x00\x01x"))
    with pytest.raises(ParameterError, match="not an unsigned-byte IDX"):
        datasets.read_idx(bad)
    short = tmp_path / "short.gz"
    short.write_bytes(gzip.compress(struct.pack(">BBBBI", 0, 0, 8, 1, 5) + b"abc"))
    with pytest.raises(ParameterError, match="shape"):
        datasets.read_idx(short)


def test_data_dir_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("XBAR_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert datasets.default_data_dir() == tmp_path / "xbar" / "data"
    monkeypatch.setenv("XBAR_DATA_DIR", str(tmp_path / "d"))
    assert datasets.default_data_dir() == tmp_path / "d"
    with pytest.raises(ParameterError, match="unknown dataset"):
        datasets.load("cifar")


@needs_shared
@pytest.mark.parametrize("name", ["mnist", "fashion"])
def test_shared_idx_files_load_and_verify(name, monkeypatch):
    monkeypatch.setenv("XBAR_DATA_DIR", str(SHARED_DATA))
    ds = datasets.load(name)
    assert ds.x_train.shape == (60000, 784) and ds.x_test.shape == (10000, 784)
    assert ds.x_train.max() == 1.0 and ds.x_train.min() == 0.0
    assert set(np.unique(ds.y_test)) == set(range(10))
    assert np.bincount(ds.y_train).min() > 5000
