"""Hostile input files: every reader goes through one bounded reader (xbar.util.files), and every
hostile file kind ends in one specific line, never the generic "internal error".
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from xbar.cli import main
from xbar.util.errors import XbarError
from xbar.util.files import LIMITS

sys.path.insert(0, str(Path(__file__).parent))
from test_models import cnn_onnx  # noqa: E402


def _cached_matrix(path):
    from xbar.network.placed import _cached_matrix as cached
    if cached(Path(path), (2, 2)) is not None:
        raise AssertionError("a bad cache entry was trusted")
    raise XbarError("refused (the entry is rebuilt)")


def _readers():
    from xbar.array.netlist import read_raw
    from xbar.cli.common import load_array
    from xbar.device.files import file_sha256, load_device
    from xbar.network import mlp
    from xbar.network.datasets import file_md5, read_idx
    from xbar.network.models.importers import load_model
    from xbar.sweeps.grid import load_grid
    return {  # name: (kind, suffix, reader)
        "device file": ("device file", ".toml", load_device),
        "device file digest": ("device file", ".toml", file_sha256),
        "grid file": ("grid file", ".toml", load_grid),
        "onnx model": ("model", ".onnx", load_model),
        "npz model": ("model", ".npz", load_model),
        "input csv": ("input file", ".csv", lambda p: load_array(str(p), "input vectors")),
        "states npy": ("input file", ".npy", lambda p: load_array(str(p), "states")),
        "network cache": ("cache entry", ".npz", mlp.load),
        "matrix cache": ("cache entry", ".npy", _cached_matrix),
        "ngspice raw file": ("ngspice raw file", ".raw", read_raw),
        "dataset file": ("dataset file", ".gz", read_idx),
        "dataset digest": ("dataset file", ".gz", file_md5),
    }


READERS = list(_readers())


def _hostile(tmp_path, how: str, kind: str, suffix: str) -> Path:
    path = tmp_path / f"hostile{suffix}"
    if how == "dev_zero":
        path.symlink_to("/dev/zero")
    elif how == "fifo":
        os.mkfifo(path)
    elif how == "folder":
        path.mkdir()
    else:  # oversized: a sparse file one byte over the limit, so the test writes nothing
        with open(path, "wb") as f:
            f.truncate(LIMITS[kind] + 1)
    return path


@pytest.mark.bad_input
@pytest.mark.parametrize("how", ["dev_zero", "fifo", "folder", "oversized"])
@pytest.mark.parametrize("reader", READERS)
def test_every_reader_refuses_what_is_not_a_bounded_regular_file(tmp_path, reader, how):
    kind, suffix, read = _readers()[reader]
    path = _hostile(tmp_path, how, kind, suffix)
    start = time.monotonic()
    with pytest.raises(XbarError) as info:
        read(path)
    assert time.monotonic() - start < 2.0
    text = str(info.value)
    if reader != "matrix cache":
        assert "\n" not in text and str(path) in text, text
        phrase = {"dev_zero": "is a device, not a regular file", "fifo": "is a FIFO (named pipe), not a regular",
                  "folder": "is a folder", "oversized": "is too large for a"}[how]
        assert phrase in text, text


# --- every hostile file kind through the command line: one specific line, non-zero exit -----------

def _nested_toml(p):
    p.write_text("a = " + "[" * 50_000 + "]" * 50_000 + "\n")


def _nested_tables(p):
    p.write_text("x = " + "{a = " * 5_000 + "1" + "}" * 5_000 + "\n")


def _npz(**arrays):
    return lambda p: np.savez(p, **arrays)


def _truncated_npz(p):
    np.savez(p, w0=np.ones((64, 10)), b0=np.zeros(10))
    p.write_bytes(p.read_bytes()[:300])


def _onnx(edit=None, cut=False):
    def make(p):
        import onnx
        cnn_onnx(p)
        if cut:
            p.write_bytes(p.read_bytes()[:len(p.read_bytes()) // 2])
            return
        m = onnx.load(str(p))
        edit(m)
        onnx.save(m, str(p))
    return make


def _stride0(m):
    import onnx
    conv = next(n for n in m.graph.node if n.op_type == "Conv")
    for a in list(conv.attribute):
        if a.name == "strides":
            conv.attribute.remove(a)
    conv.attribute.append(onnx.helper.make_attribute("strides", [0, 0]))


def _dims(m):
    m.graph.initializer[0].dims[0] *= 3  # declares three times the data it holds


def _complex_onnx(m):
    from onnx import numpy_helper
    t = m.graph.initializer[0]
    t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.complex64), t.name))


def _bad_utf8(p):
    p.write_bytes(b'name = "\xff\xfe"\n')


SOLVE = ["solve", "--rows", "2", "--cols", "2"]
INFER = ["infer", "--limit", "5", "--study", "none", "--quiet"]

#: name: (command before the file, option naming it, suffix, maker, phrase of the one error line)
HOSTILE_FILES = {
    "device nested arrays": (SOLVE, "--device", ".toml", _nested_toml, "nested too deeply"),
    "device nested tables": (SOLVE, "--device", ".toml", _nested_tables, "nested too deeply"),
    "device bad utf-8": (SOLVE, "--device", ".toml", _bad_utf8, "not UTF-8 text"),
    "device empty": (SOLVE, "--device", ".toml", lambda p: p.write_text(""), "device file"),
    "grid nested arrays": (["sweep", "--quiet"], None, ".toml", _nested_toml, "nested too deeply"),
    "states /dev/zero": (SOLVE, "--states", ".csv", lambda p: p.symlink_to("/dev/zero"), "not a regular file"),
    "inputs fifo": (SOLVE, "--inputs", ".csv", os.mkfifo, "FIFO (named pipe)"),
    "onnx empty": (INFER, "--model", ".onnx", lambda p: p.write_bytes(b""), "empty (0 bytes)"),
    "onnx truncated": (INFER, "--model", ".onnx", _onnx(cut=True), "not a readable ONNX file"),
    "onnx declared dims": (INFER, "--model", ".onnx", _onnx(_dims), "cannot reshape"),
    "onnx stride 0": (INFER, "--model", ".onnx", _onnx(_stride0), "strides must be two integers >= 1"),
    "onnx complex weights": (INFER, "--model", ".onnx", _onnx(_complex_onnx), "complex values"),
    "npz empty": (INFER, "--model", ".npz", lambda p: p.write_bytes(b""), "empty (0 bytes)"),
    "npz truncated": (INFER, "--model", ".npz", _truncated_npz, "not a readable .npz archive"),
    "npz single array": (INFER, "--model", ".npz", lambda p: p.write_bytes(_npy_bytes()), "not an archive"),
    "npz dims mismatch": (INFER, "--model", ".npz", _npz(w0=np.ones((64, 10)), b0=np.zeros(9)), "bias [9]"),
    "npz complex": (INFER, "--model", ".npz", _npz(w0=np.ones((64, 10)) * 1j, b0=np.zeros(10)), "complex values"),
    "npz 1e300": (INFER, "--model", ".npz", _npz(w0=np.full((64, 10), 1e300), b0=np.zeros(10)), "values up to 1e+300"),
}


def _npy_bytes():
    import io
    f = io.BytesIO()
    np.save(f, np.ones(3))
    return f.getvalue()


@pytest.mark.bad_input
@pytest.mark.parametrize("case", HOSTILE_FILES)
def test_each_hostile_file_kind_gets_its_own_line(tmp_path, capsys, monkeypatch, case):
    command, option, suffix, make, phrase = HOSTILE_FILES[case]
    monkeypatch.setenv("XBAR_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / f"hostile{suffix}"
    make(path)
    argv = command + ([option, str(path)] if option else [str(path)])
    if command[0] == "infer":
        argv += ["--out", str(tmp_path / "out")]
    status = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1, err
    assert lines[0].startswith("xbar: error: ") and "internal error" not in err, err
    assert str(path) in lines[0] and phrase in lines[0], err
    assert not (tmp_path / "out").exists()


@pytest.mark.bad_input
@pytest.mark.parametrize("damage", ["dev_zero", "fifo", "garbage", "wrong fields"])
def test_corrupt_cache_entries_are_rebuilt_through_the_command_line(tmp_path, capsys, monkeypatch, damage):
    """A bad network, effective-matrix or IR-drop entry is never trusted: infer rebuilds it and
    gives the same answer as with a clean cache (exit 0, nothing on stderr)."""
    monkeypatch.setenv("XBAR_CACHE_DIR", str(tmp_path / "cache"))
    argv = ["infer", "--limit", "5", "--study", "none", "--quiet", "--tile", "32"]
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    entries = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert {p.parent.name for p in entries} >= {"networks", "matrices", "irdrop"}
    for p in entries:
        p.unlink()
        if damage == "dev_zero":
            p.symlink_to("/dev/zero")
        elif damage == "fifo":
            os.mkfifo(p)
        elif damage == "garbage":
            p.write_bytes(b"PK\x03\x04 not really")
        else:
            np.savez(p, worst_v=np.ones((2, 2)), mean_v=np.ones(3), map_v=np.ones(1), worst_device_a="x")
    capsys.readouterr()
    assert main(argv + ["--out", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().err == ""
    a, b = (json.loads((tmp_path / d / "results.json").read_text())["base"] for d in "ab")
    for key in ("accuracy_analog", "accuracy_ideal_quantized", "layers", "ir_drop"):
        assert a[key] == b[key], key


@pytest.mark.bad_input
def test_a_cache_entry_that_cannot_be_replaced_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XBAR_CACHE_DIR", str(tmp_path / "cache"))
    argv = ["infer", "--limit", "5", "--study", "none", "--quiet", "--tile", "32"]
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    (entry, *_) = (tmp_path / "cache" / "matrices").glob("*.npy")
    entry.unlink()
    entry.mkdir()
    capsys.readouterr()
    assert main(argv + ["--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" not in err and "is a folder" in err, err
