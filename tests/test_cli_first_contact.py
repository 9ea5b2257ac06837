"""A new user's first hour: the README's Python quick start, the top-level API, data folders, netlist
defaults, a fast default ``xbar infer`` with opt-in studies, a readable report, and caches that are
checked before they are trusted."""

import gzip
import hashlib
import io
import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import xbar
from xbar import cli
from xbar.network import datasets
from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.library import library_device
from xbar.util.errors import ParameterError
from xbar.array.netlist import netlist_text, write_netlist
from xbar.solvers import NativeSolver, solve

ROOT = Path(__file__).resolve().parent.parent


def test_readme_python_quick_start_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks, "README.md has no python block"
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "column currents (uA)" in out and "ngspice differs by" in out
    spice_gap = float(re.search(r"ngspice differs by (\S+) A", out).group(1))
    assert spice_gap < 1e-12  # ngspice and the native solver agree on the README's array
    assert (tmp_path / "quickstart.cir").read_text().count("\nX") == 12


def test_import_xbar_is_light_and_exports_the_api():
    code = ("import sys, xbar; light = 'numpy' not in sys.modules and 'scipy' not in sys.modules; "
            "names = [n for n in xbar.__all__ if getattr(xbar, n) is None]; print(light, names)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert proc.stdout.strip() == "True []", proc.stderr
    for name in ("library_device", "MTJ", "CompoundMTJ", "Crossbar", "build_circuit", "solve",
                 "write_netlist", "Variation", "CircuitSpec", "XbarError"):
        assert name in xbar.__all__ and getattr(xbar, name).__doc__
    with pytest.raises(AttributeError):
        xbar.no_such_name


@pytest.mark.bad_input
def test_library_device_takes_keywords_only():
    with pytest.raises(TypeError):
        library_device(1.9, 3)
    assert library_device(thickness_nm=1.9, n_cells=3).n_cells == 3


def test_a_crossbar_is_accepted_wherever_a_circuit_is(tmp_path):
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=2), np.array([[0, 1], [2, 1], [0, 2]]),
                  row_wire_ohm=1.0, col_wire_ohm=1.0)
    v = [0.1, 0.05, 0.0]
    assert netlist_text(xb, inputs=v) == netlist_text(build_circuit(xb), inputs=v)
    assert write_netlist(xb, tmp_path / "x.cir", inputs=v).read_text() == netlist_text(xb, inputs=v)
    np.testing.assert_array_equal(solve(build_circuit(xb), [v]).currents, solve(xb, [v]).currents)
    # solve() takes its own route (docs/performance.md); the factorized solver agrees to rounding.
    np.testing.assert_allclose(NativeSolver(xb).solve([v]).currents, solve(xb, [v]).currents, rtol=1e-12)


@pytest.mark.bad_input
def test_a_solver_refuses_what_is_neither_crossbar_nor_circuit():
    with pytest.raises(ParameterError, match="expected a Crossbar or a Circuit, got str"):
        NativeSolver("crossbar.cir")


def test_netlist_defaults_to_every_row_at_v_read(tmp_path, capsys):
    out = tmp_path / "x.cir"
    assert cli.main(["netlist", "--rows", "3", "--cols", "2", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("* xbar crossbar, every row source at 0.1 V\n")
    assert re.findall(r"^V\d+ \S+ 0 DC (\S+)$", text, re.M) == ["0.1"] * 3
    assert "every row source at 0.1 V" in capsys.readouterr().out
    assert cli.main(["netlist", "--rows", "3", "--cols", "2", "--v-read", "0.2", "--title", "mine",
                     "-o", str(out)]) == 0
    assert out.read_text().startswith("* mine, every row source at 0.2 V\n")


def test_infer_runs_no_studies_unless_asked():
    parse = cli.build_parser().parse_args
    from xbar.experiments.studies import STUDIES, parse_studies
    assert parse_studies(",".join(s) for s in parse(["infer"]).study) == ()
    assert parse_studies(",".join(s) for s in parse(["infer", "--study", "adc", "--study", "wire"]).study) \
        == ("wire", "adc")
    assert parse_studies(",".join(s) for s in parse(["infer", "--study", "all"]).study) == tuple(STUDIES)


def _idx_gz(array):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_mnist(monkeypatch):
    """A fake 'mnist' (6 train, 4 test images) with its own checksums; downloads are refused."""
    rng = np.random.default_rng(1)
    blobs = dict(zip(datasets._FILES, (
        _idx_gz(rng.integers(0, 256, (6, 28, 28))), _idx_gz(np.arange(6)),
        _idx_gz(rng.integers(0, 256, (4, 28, 28))), _idx_gz(np.arange(4)))))
    monkeypatch.setitem(datasets._SOURCES, "mnist", datasets._Source(
        "mnist", "https://example.invalid/", {f: hashlib.md5(b).hexdigest() for f, b in blobs.items()}))

    def offline(url, timeout):
        raise OSError("network is unreachable")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", offline)
    datasets._load_cached.cache_clear()
    yield blobs
    datasets._load_cached.cache_clear()


@pytest.mark.parametrize("layout", ["parent", "flat"])
def test_data_dir_may_be_the_idx_folder_or_its_parent(tmp_path, tiny_mnist, layout):
    folder = tmp_path / "mnist" if layout == "parent" else tmp_path
    folder.mkdir(exist_ok=True)
    for name, blob in tiny_mnist.items():
        (folder / name).write_bytes(blob)
    ds = datasets.load("mnist", tmp_path)
    assert ds.x_train.shape == (6, 784)
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        list(tiny_mnist) + (["mnist"] if layout == "parent" else []))  # nothing created (no mnist/mnist)


@pytest.mark.bad_input
def test_a_failed_download_leaves_no_folder(tmp_path, tiny_mnist):
    with pytest.raises(xbar.XbarError, match="download failed"):
        datasets.load("mnist", tmp_path / "new" / "data")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.bad_input
def test_the_other_datasets_file_is_named(tmp_path, tiny_mnist, monkeypatch):
    fake = dict(datasets._SOURCES["mnist"].md5)
    monkeypatch.setitem(datasets._SOURCES, "fashion", datasets._Source("fashion-mnist", "https://x.invalid/", fake))
    monkeypatch.setitem(datasets._SOURCES, "mnist", datasets._Source("mnist", "https://x.invalid/",
                                                                     {f: "0" * 32 for f in fake}))
    for name, blob in tiny_mnist.items():
        (tmp_path / name).write_bytes(blob)
    with pytest.raises(xbar.XbarError, match="is the fashion file .* not the mnist one"):
        datasets.load("mnist", tmp_path)


# --- caches: a bad entry is rebuilt, not trusted --------------------------------------------------

BAD_NETWORK_FILES = {
    "garbage": lambda p: p.write_bytes(b"not an npz"),
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:200]),
    "wrong shape": lambda p: np.savez(p, w0=np.zeros((64, 3)), b0=np.zeros(3), w1=np.zeros((3, 10)), b1=np.zeros(10)),
    "non-finite": lambda p: np.savez(p, **{k: np.full_like(v, np.nan) for k, v in dict(np.load(p)).items()}),
    "no arrays": lambda p: np.savez(p, x=np.zeros(2)),
    "mismatched layers": lambda p: np.savez(p, w0=np.zeros((64, 8)), b0=np.zeros(8), w1=np.zeros((9, 10)),
                                            b1=np.zeros(10)),
    "pickled objects": lambda p: np.savez(p, w0=np.array([None, 1], dtype=object), b0=np.zeros(1)),
}


@pytest.mark.bad_input
@pytest.mark.parametrize("damage", BAD_NETWORK_FILES)
def test_a_bad_cached_network_is_retrained(tmp_path, damage):
    from xbar.network.mlp import trained
    kw = dict(seed=0, hidden=8, epochs=2, cache_dir=tmp_path)
    good = trained("digits", **kw)
    (path,) = (tmp_path / "networks").glob("*.npz")
    BAD_NETWORK_FILES[damage](path)
    again = trained("digits", **kw)
    for a, b in zip(good.weights + good.biases, again.weights + again.biases):
        np.testing.assert_array_equal(a, b)
    assert trained("digits", **kw).shape == (64, 8, 10)  # the entry was replaced by a good one


BAD_MATRIX_FILES = {
    "garbage": lambda p, m: p.write_bytes(b"\x93NUMPY garbage"),
    "empty": lambda p, m: p.write_bytes(b""),
    "truncated": lambda p, m: p.write_bytes(p.read_bytes()[:150]),
    "wrong shape": lambda p, m: np.save(p, m[:-1]),
    "transposed": lambda p, m: np.save(p, m.T.copy()),
    "nan": lambda p, m: np.save(p, np.where(m == m.max(), np.nan, m)),
    "integers": lambda p, m: np.save(p, m.astype(np.int64)),
    "0-d": lambda p, m: np.save(p, np.array(1.0)),
}


@pytest.mark.bad_input
@pytest.mark.parametrize("damage", BAD_MATRIX_FILES)
def test_a_bad_cached_effective_matrix_is_rebuilt(tmp_path, damage):
    from xbar.network.circuit_spec import CircuitSpec
    from xbar.network.analog import AnalogNetwork
    from xbar.network.mlp import Network
    rng = np.random.default_rng(0)
    net = Network([rng.normal(size=(12, 6)), rng.normal(size=(6, 3))], [rng.normal(size=6), rng.normal(size=3)])
    spec = CircuitSpec(tile_rows=None, tile_cols=None)
    first = AnalogNetwork(net, spec, cache_dir=tmp_path)
    tile = first.tiles[0][0]
    good = first.effective_matrix(tile)
    path = tmp_path / "matrices" / f"{first._key(tile)}.npy"
    BAD_MATRIX_FILES[damage](path, good)
    again = AnalogNetwork(net, spec, cache_dir=tmp_path).effective_matrix(tile)
    np.testing.assert_array_equal(again, good)
    np.testing.assert_array_equal(np.load(path), good)  # and the entry was replaced


# --- the report ------------------------------------------------------------------------------------

def test_infer_report_is_complete_and_readable(tmp_path):
    from xbar.experiments.circuits import run_infer
    from xbar.network.circuit_spec import CircuitSpec
    lines = []
    spec = CircuitSpec(wire_ohm=2.0, tile_rows=32, tile_cols=32, adc_bits=8)
    result = run_infer("digits", spec, tmp_path / "out", studies=("adc",), n_test=40, quiet=True,
                       say=lines.append)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "None" not in report and "nan" not in report
    for must in ("| R_P | ", "| R_AP | ", "| TMR | ", "| write channel | 600 ohm (3 cells) |",
                 f"xbar {xbar.__version__}, run 20", "s in all", "| ADC | 8 bits |", "| ADC full scale used |",
                 "| tile rows | 32 |", "| wire resistance per segment (rows and columns) | 2 ohm |"):
        assert must in report, must
    table = report[report.index("## Per-layer output error"):]
    assert table.index("worst error") < table.index("RMS error")
    worst = max(result["base"]["ir_drop"], key=lambda s: s["worst_rel"])
    assert json.loads((tmp_path / "out" / "results.json").read_text())["info"]["version"] == xbar.__version__
    svg = (tmp_path / "out" / "ir_drop_heatmap.svg").read_text()
    assert f"worst tile, layer {worst['layer']} tile {tuple(worst['tile'])}" in svg
    assert lines[0].startswith("digits: base run on 40 test images, then 5 study points (adc)")
    studies = [line for line in lines if line.startswith("studies:")]  # after a "network: training" line on a cold cache
    assert re.match(r"studies: 5 points, estimated \d+ s \(5 x the base run's [\d.]+ s\)", studies[0]), lines


def test_a_failed_infer_creates_no_output_folder(tmp_path, capsys, monkeypatch):
    from xbar.experiments import circuits

    def fail(*args, **kwargs):
        raise ParameterError("stop here")

    monkeypatch.setattr(circuits, "compare", fail)
    assert cli.main(["infer", "--quiet", "--limit", "5", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == "xbar: error: stop here\n"
    assert not (tmp_path / "out").exists()


def test_sweep_line_figures_use_labels_with_units_and_percentages():
    from xbar import sweeps as sweep
    from xbar.sweeps.figures import draw
    records = [{"key": str(i), "params": {"dataset": "digits", "seed": 0, "cells": c, "wire_ohm": w},
                "result": {"accuracy_analog": 0.9 - 0.01 * w - 0.001 * c}}
               for i, (c, w) in enumerate((c, w) for c in (1, 2, 3) for w in (0, 1, 5))]
    (fig,) = draw(records, sweep.load_grid("wire").figure).values()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "wire resistance per segment (ohm)"
    assert ax.get_ylabel() == "analog accuracy (%)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [f"MTJ cells per device: {c}" for c in (1, 2, 3)]
    assert 80 < ax.lines[0].get_ydata()[0] < 100  # percentages, not fractions


BAD_STORE_LINES = {
    "not UTF-8": b"\xff\xfe{garbage\n",
    "accuracy above 1": b'{"key": "KEY", "accuracy": 5.0}\n',
    "accuracy not a number": b'{"key": "KEY", "accuracy": "high"}\n',
    "accuracy a bool": b'{"key": "KEY", "accuracy": true}\n',
    "key not a string": b'{"key": 3, "accuracy": 0.5}\n',
    "not a record": b'[1, 2, 3]\n',
}


@pytest.mark.bad_input
@pytest.mark.parametrize("damage", BAD_STORE_LINES)
def test_reproduce_store_lines_that_are_not_records_are_recomputed(tmp_path, monkeypatch, damage):
    from xbar.experiments import paper
    point = {"dataset": "digits", "seed": 0, "method": "full"}
    key = paper._key(point)
    monkeypatch.setattr(paper.network, "trained", lambda *a, **k: None)
    monkeypatch.setattr(paper, "paper_point", lambda **kw: {**kw, "accuracy": 0.75})
    store = tmp_path / "points.jsonl"
    store.write_bytes(b'{"xbar_points":1}\n' + BAD_STORE_LINES[damage].replace(b"KEY", json.dumps(key)[1:-1].encode()))
    (rec,) = paper.run_points([point], store)
    assert rec["accuracy"] == 0.75


def test_study_descriptions_give_their_point_counts():
    from xbar.experiments.studies import EXTRA_STUDIES, STUDIES, study_specs
    from xbar.network.circuit_spec import CircuitSpec
    for name, what in {**STUDIES, **EXTRA_STUDIES}.items():
        if name in ("energy", "readout"):  # analyses of the base run, not study points
            continue
        assert what.startswith(f"{len(study_specs(CircuitSpec(), (name,)))} points: "), name


def test_energy_analysis_is_opt_in(tmp_path):
    from xbar.experiments.circuits import run_infer
    from xbar.network.circuit_spec import CircuitSpec
    spec = CircuitSpec(tile_rows=32, tile_cols=32)
    plain = run_infer("digits", spec, tmp_path / "plain", n_test=20, quiet=True)
    assert "energy" not in plain["base"] and "## Energy" not in (tmp_path / "plain" / "report.md").read_text()
    lines = []
    energy = run_infer("digits", spec, tmp_path / "energy", studies=("energy",), n_test=20, quiet=True,
                       say=lines.append)
    assert energy["base"]["energy"]["array_j_per_image"] > 0 and any(s.startswith("energy: ") for s in lines)
    assert "## Energy and latency" in (tmp_path / "energy" / "report.md").read_text()
