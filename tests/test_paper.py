"""Training and its cache, the forward pass, the Fig. 5 grid code and `xbar reproduce` end to end."""

import json

import numpy as np
import pytest

from xbar import cli
from xbar.network import datasets, mlp as network
from xbar.util.errors import ParameterError
from xbar.experiments import paper, paper_report


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XBAR_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_forward_matches_the_layer_formula_and_accepts_a_matvec():
    rng = np.random.default_rng(0)
    net = network.Network([rng.normal(size=(5, 4)), rng.normal(size=(4, 3))], [rng.normal(size=4), rng.normal(size=3)])
    x = rng.uniform(size=(7, 5))
    h = 1 / (1 + np.exp(-(x @ net.weights[0] + net.biases[0])))
    np.testing.assert_allclose(network.forward(net, x), h @ net.weights[1] + net.biases[1])
    calls = []

    def matvec(layer, a):
        calls.append((layer, a.shape))
        return a @ net.weights[layer] + net.biases[layer]

    np.testing.assert_array_equal(network.predict(net, x, matvec), network.predict(net, x))
    assert calls == [(0, (7, 5)), (1, (7, 4))]
    with pytest.raises(ParameterError, match="shape"):
        network.forward(net, x[:, :3])


def test_training_is_seeded_and_cached(cache):
    ds = datasets.load("digits")
    a, b = network.train(ds, seed=1, epochs=3), network.train(ds, seed=1, epochs=3)
    c = network.train(ds, seed=2, epochs=3)
    assert a.shape == (64, 128, 10)
    assert all(np.array_equal(u, v) for u, v in zip(a.weights + a.biases, b.weights + b.biases))
    assert not np.array_equal(a.weights[0], c.weights[0])
    first = network.trained("digits", seed=1, epochs=3)
    files = list((cache / "networks").glob("*.npz"))
    assert len(files) == 1 and not list((cache / "networks").glob(".*part"))
    again = network.trained("digits", seed=1, epochs=3)
    assert all(np.array_equal(u, v) for u, v in zip(first.weights, again.weights))
    assert network.training_key("digits", 1, epochs=3) != network.training_key("digits", 1, epochs=4)
    assert network.training_key("digits", 1) != network.training_key("digits", 2)


def test_paper_point_is_a_json_record(cache):
    rec = paper.paper_point("digits", seed=0, n_cells=2, thickness_nm=1.9)
    json.dumps(rec)
    assert rec["n_levels"] == 6 and 0.5 < rec["accuracy"] <= 1.0
    assert rec["tmr"] == pytest.approx(0.40) and rec["thickness_nm"] == 1.9
    full = paper.paper_point("digits", seed=0, method="full")
    assert full["accuracy"] > 0.8 and full["n_levels"] is None
    with pytest.raises(ParameterError, match="exactly one"):
        paper.paper_point("digits", n_cells=1, tmr=1.0, thickness_nm=1.9)
    with pytest.raises(ParameterError, match="unknown method"):
        paper.paper_point("digits", method="binary")


def test_grid_runs_resumes_and_summarizes_on_a_tiny_grid(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(paper, "QUICK_THICKNESS_NM", (1.6, 1.9, 2.6))
    monkeypatch.setattr(paper, "QUICK_TMR", (0.6, 2.6))
    monkeypatch.setattr(paper, "CONTOUR_CELLS", (1, 2))
    monkeypatch.setattr(paper, "QUICK_BITS", (2,))
    points = paper.plan("digits", seeds=(0,), quick=True)
    # full + 3x3 library + 2x2 contour + 2 differential + 1 uniform + 3 other rule/bias x 3 points
    assert len(points) == 1 + 9 + 4 + 2 + 1 + 9
    store = tmp_path / "points.jsonl"
    records = paper.run_points(points, store)
    assert len(store.read_text().splitlines()) == 1 + len(points)  # the header, then one line per point
    with open(store, "a") as fh:
        fh.write('{"torn": ')  # an interrupted append
    monkeypatch.setattr(paper, "paper_point", lambda **kw: pytest.fail("resumed run recomputed a point"))
    assert paper.run_points(points, store) == records
    s = paper.summarize(records)
    assert s["library"]["thickness_nm"] == [1.6, 1.9, 2.6]
    assert np.array(s["contour"]["mean"]).shape == (2, 2)
    assert s["contour"]["steps"] == 2
    acc = {r["thickness_nm"]: r["accuracy"] for r in records
           if r["method"] == "paper" and r["n_cells"] == 1 and r["rule"] == "mse" and r["bias"] == "row"
           and r["thickness_nm"]}
    assert s["metrics"]["gain_1cell"][0] == pytest.approx(100 * (acc[2.6] - acc[1.6]))
    assert set(s["rules"]) == {"mse/row", "mse/float", "max/row", "max/float"}


def test_report_flags_differences_from_the_paper(cache):
    records = paper.run_points(paper.plan("digits", seeds=(0,), quick=True))
    s = paper.summarize(records)
    s = {**s, "dataset": "mnist", "paper": paper.PAPER["mnist"]}
    info = {"date": "2026-11-24", "sklearn": "x", "machine": "m", "n_train": 1, "n_test": 1,
            "n_features": 64, "n_classes": 10, "seconds": 1.0, "quick": True, "points": 1, "reused": 0}
    md = paper_report.report_markdown(s, info)
    assert "| 3 cells at 1.9 nm (paper: best) | 91.7 % |" in md
    assert "2-cell fall" not in md  # Fashion-only rows are left out for MNIST
    if abs(s["metrics"]["at_1p9"][0] - 91.7) > 2:
        assert "differs by more than 2 pp (note 1)" in md and "### Why the numbers differ" in md


def test_reproduce_quick_end_to_end(cache, tmp_path, capsys):
    out = tmp_path / "rep"
    assert cli.main(["reproduce", "--dataset", "digits", "--quick", "--out", str(out), "--quiet"]) == 0
    for name in ("report.md", "summary.json", "points.jsonl", "accuracy_vs_tmr.png", "accuracy_vs_tmr.svg",
                 "accuracy_contour.png", "accuracy_contour.svg"):
        assert (out / name).stat().st_size > 0, name
    report = (out / "report.md").read_text()
    assert "## Against the paper" in report and "![accuracy contour](accuracy_contour.png)" in report
    assert "wrote" in capsys.readouterr().out
    assert json.loads((out / "summary.json").read_text())["seeds"] == [0, 1]


def test_reproduce_errors_are_one_line(cache, tmp_path, capsys, monkeypatch):
    assert cli.main(["reproduce", "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0

    def offline(url, timeout):
        raise OSError("network is unreachable")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", offline)
    assert cli.main(["reproduce", "--dataset", "mnist", "--data-dir", str(tmp_path / "none"), "--quiet",
                     "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xbar: error: mnist file") and err.count("\n") == 1 and "Traceback" not in err
