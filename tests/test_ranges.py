"""One range table (xbar.util.ranges) drives the CLI, device files and the API; one set of options on every command.

Issue 17: every parameter's range is enforced identically from the command line, a device
file and the Python API. Issue 18.3: every array command accepts every device, variation,
fault and periphery option, and the option reaches what the command computes or writes.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from xbar import cli
from xbar.analysis.periphery import Periphery
from xbar.cli.common import MODEL_GROUPS
from xbar.device.access import AccessTransistor
from xbar.device.compound import CompoundMTJ
from xbar.device.faults import Faults
from xbar.device.files import device_from_dict
from xbar.device.junction import MTJ
from xbar.device.library import library_mtj
from xbar.device.temperature import check_temperature
from xbar.device.variation import Variation
from xbar.util.errors import ParameterError
from xbar.util.ranges import PARAMS, in_group, markdown_table

#: The commands that build arrays; each takes every option of MODEL_GROUPS.
ARRAY_COMMANDS = ("netlist", "solve", "settle", "infer", "program", "sweep")

#: Each table row through the Python API: a callable that builds the object holding that value.
API = {
    "thickness_nm": lambda v: library_mtj(v),
    "n_cells": lambda v: CompoundMTJ(MTJ(1e4, 2e4), v),
    "r_p_ohm": lambda v: MTJ(v, 1e13),
    "r_ap_ohm": lambda v: MTJ(0.1, v),
    "tmr_percent": lambda v: MTJ.from_tmr(1e4, v / 100.0),
    "channel_ohm": lambda v: CompoundMTJ(MTJ(1e4, 2e4), 1, v),
    "v_half_volt": lambda v: MTJ(1e4, 2e4, v),
    "state_ohm": lambda v: CompoundMTJ.from_state_resistances([1e9, v] if v < 1e9 else [v, 2]),
    "state_sigma": lambda v: CompoundMTJ(MTJ(1e4, 2e4), 1, state_sigma=(0.0, v)),
    "sigma": lambda v: Variation(sigma=v),
    **{k: (lambda k: lambda v: Variation(**{k: v}))(k)
       for k in ("device_ra_sigma", "cell_ra_sigma", "device_tmr_sigma", "cell_tmr_sigma")},
    "variation_scale": lambda v: Variation.typical(scale=v),
    "fault_rate": lambda v: Faults.uniform(v),
    **{k: (lambda k: lambda v: Faults(**{k: v}))(k) for k in ("stuck_p", "stuck_ap", "open", "short", "short_ohm")},
    **{name: (lambda name: lambda v: Periphery(**{name: v}))(name) for name in
       (r.name for r in PARAMS.values() if r.group == "periphery")},
}

#: Device-file keys: a TOML table (as parsed) holding the value.
FILE = {
    "channel_ohm": lambda v: {"channel_ohm": v, "state_ohm": [2e4, 1e4]},
    "v_half_volt": lambda v: {"v_half_volt": v, "state_ohm": [2e4, 1e4]},
    "state_ohm": lambda v: {"state_ohm": [1e9, v] if v < 1e9 else [v, 2]},
    "state_sigma": lambda v: {"state_ohm": [2e4, 1e4], "state_sigma": [0.0, v]},
    "r_p_ohm": lambda v: {"cell": [{"r_p_ohm": v, "r_ap_ohm": 1e13}]},
    "r_ap_ohm": lambda v: {"cell": [{"r_p_ohm": 0.1, "r_ap_ohm": v}]},
    "tmr_percent": lambda v: {"cell": [{"area_um2": 0.1, "ra_ohm_um2": 2000, "tmr_percent": v}]},
    "area_um2": lambda v: {"cell": [{"area_um2": v, "ra_ohm_um2": 2000, "tmr_percent": 50}]},
    "ra_ohm_um2": lambda v: {"cell": [{"area_um2": 1.0, "ra_ohm_um2": v, "tmr_percent": 50}]},
}

PHYSICAL = [r for r in PARAMS.values() if r.group in MODEL_GROUPS]


def outside(row) -> list:
    """Values just outside the row's range (and NaN)."""
    out = [math.nan]
    if row.low is not None:
        out.append(row.low if row.low_open else row.low - max(1, abs(row.low)) if row.integer else row.low * 0.5
                   if row.low > 0 else row.low - 1e-3)
    if row.high is not None and not math.isinf(row.high):
        out.append(row.high + 1 if row.integer else row.high * 2)
    return out


def inside(row):
    """A value inside the row's range."""
    if row.high is None or math.isinf(row.high):
        return row.low * 2 if row.low else 1
    return row.high if not row.high_open else (row.low + row.high) / 2


def test_every_model_row_has_an_api_check_and_a_source():
    for row in PHYSICAL:
        assert row.name in API or row.name in FILE, f"add {row.name} to API (or FILE) in this test"
        assert row.source and row.help and row.unit


@pytest.mark.bad_input
@pytest.mark.parametrize("row", PHYSICAL, ids=[r.name for r in PHYSICAL])
def test_the_same_range_from_cli_file_and_api(row, capsys):
    for value in outside(row):
        if row.name in API:
            with pytest.raises(ParameterError, match=r"must be"):
                API[row.name](value)
        if row.name in FILE:
            with pytest.raises(ParameterError, match=row.name):
                device_from_dict(FILE[row.name](value), "f")
        if row.cli_flag:
            cli_refuses(row, value, ARRAY_COMMANDS, capsys)
    good = inside(row)
    if row.name in API:
        API[row.name](good)
    if row.name in FILE:
        device_from_dict(FILE[row.name](good), "f")
    if row.cli_flag:
        cli_reads(row, good, ARRAY_COMMANDS, row.name)


def cli_refuses(row, value, commands, capsys) -> None:
    """Each command refuses ``value`` for the row's option in one line naming the option."""
    for command in commands:
        with pytest.raises(SystemExit):
            cli.build_parser().parse_args([command, row.cli_flag, repr(value)])
        err = capsys.readouterr().err
        assert f"argument {row.cli_flag}:" in err and len(err.strip().splitlines()) == 1, err


def cli_reads(row, good, commands, dest: str) -> None:
    """Each command reads ``good`` for the row's option into ``args.<dest>``."""
    for command in commands:
        args = cli.build_parser().parse_args([command, row.cli_flag, str(good)] + ["-o", "x"] * (command == "netlist"))
        value = getattr(args, dest)
        assert (value[0] if isinstance(value, list) else value) == pytest.approx(good)


#: The temperature and access-transistor rows: (API call, the argparse destination).
PHYSICS = {"temperature_c": (check_temperature, "temp"),
           "access_width_nm": (lambda v: AccessTransistor(width_nm=v), "access_width_nm"),
           "access_wordline_volt": (lambda v: AccessTransistor(wordline_volt=v), "access_wordline_volt")}
#: The commands with the temperature and access-transistor options (a sweep sets them as axes).
PHYSICS_COMMANDS = ("netlist", "solve", "settle", "infer", "program")


@pytest.mark.bad_input
@pytest.mark.parametrize("name", sorted(PHYSICS))
def test_temperature_and_access_rows_bound_the_cli_and_the_api_alike(name, capsys):
    row, (api, dest) = PARAMS[name], PHYSICS[name]
    assert row.group == "physics" and row.source and row.unit
    for value in outside(row):
        with pytest.raises(ParameterError, match="must be"):
            api(value)
        cli_refuses(row, value, PHYSICS_COMMANDS, capsys)
    good = inside(row)
    api(good)
    cli_reads(row, good, PHYSICS_COMMANDS, dest)


def test_a_device_file_spread_of_100_is_refused_like_the_cli(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text("state_ohm = [40000, 30000]\nstate_sigma = [0.02, 100]\n")
    from xbar.device.files import load_device
    with pytest.raises(ParameterError, match=r"state_sigma\[1\] must be a number in 0..1, got 100"):
        load_device(path)


@pytest.mark.parametrize("command", ARRAY_COMMANDS)
def test_every_array_command_takes_every_option(command):
    options = {o for a in cli.build_parser()._subparsers._group_actions[0].choices[command]._actions
               for o in a.option_strings}
    wanted = {r.cli_flag for g in MODEL_GROUPS for r in in_group(g)} | {"--device", "--variation"}
    assert wanted <= options, sorted(wanted - options)


def _netlist(tmp_path, *extra) -> str:
    out = tmp_path / f"n{len(list(tmp_path.iterdir()))}.cir"
    assert cli.main(["netlist", "--rows", "6", "--cols", "5", *extra, "-o", str(out)]) == 0
    return out.read_text()


#: Options and what a netlist written with them must say.
NETLIST_SHOWS = [
    (["--fault-rate", "0.4"], "* faults: stuck-at-P 0.1, stuck-at-AP 0.1, open 0.1"),
    (["--fault-short", "0.3", "--short-ohm", "700"], "short 0.3 at 700 ohm"),
    (["--fault-stuck-p", "0.2"], "stuck-at-P 0.2"),
    (["--fault-stuck-ap", "0.2"], "stuck-at-AP 0.2"),
    (["--fault-open", "0.2"], "open 0.2 (cells left out)"),
    (["--variation", "typical"], "variation: correlated, ln-sigma RA 0.05 device + 0.03 cell"),
    (["--variation", "typical", "--variation-scale", "2"], "RA 0.1 device + 0.06 cell"),
    (["--sigma", "0.05"], "variation: sigma 0.05"),
    (["--device-ra-sigma", "0.04"], "RA 0.04 device"),
    (["--cell-ra-sigma", "0.04"], "0.04 cell"),
    (["--device-tmr-sigma", "0.04"], "TMR 0.04 device"),
    (["--cell-tmr-sigma", "0.04"], "0.04 cell"),
    (["--thickness", "2.6"], "R_P = 22400 ohm"),
    (["--cells", "2"], "of 2-cell compound"),
    (["--r-p", "1e4", "--tmr", "50"], "R_AP = 15000 ohm"),
    (["--channel-ohm", "60"], "write channel: 60 ohm"),
    (["--vh", "0.5"], "0.5"),
    (["--device", "measured-21pct"], "cell 0: R_P"),
    *[([r.cli_flag, str(inside(r) if r.default is None else r.default / 2 if not r.integer else r.default - 1)],
       f"periphery model (energy estimates, not in this circuit): {r.name} = ") for r in in_group("periphery")],
]


@pytest.mark.parametrize("extra, shows", NETLIST_SHOWS, ids=[" ".join(e) for e, _ in NETLIST_SHOWS])
def test_options_reach_the_netlist(tmp_path, extra, shows):
    plain = _netlist(tmp_path)
    text = _netlist(tmp_path, *extra)
    assert text != plain and shows in text


def test_a_faulty_varied_netlist_runs_in_ngspice_like_native(tmp_path):
    """The netlist a colleague gets (faults and variation written in) solves to xbar's own answer."""
    from xbar.array.netlist import read_raw
    from xbar.solvers import solve
    import subprocess
    args = ["--rows", "6", "--cols", "5", "--fault-rate", "0.2", "--variation", "typical", "--seed", "3"]
    cir = tmp_path / "f.cir"
    assert cli.main(["netlist", *args, "-o", str(cir)]) == 0
    subprocess.run(["ngspice", "-b", "-r", str(tmp_path / "f.raw"), str(cir)], check=True, capture_output=True,
                   timeout=60)
    plot = read_raw(tmp_path / "f.raw")[0]
    spice = np.array([plot[f"i(vs{j})"][0] for j in range(5)])
    ns = cli.build_parser().parse_args(["netlist", *args, "-o", "x"])
    from xbar.cli.array import crossbar_from_args
    native = solve(crossbar_from_args(ns), np.full((1, 6), 0.1)).currents[0]
    assert np.allclose(np.abs(spice), np.abs(native), rtol=1e-9, atol=0)


def test_periphery_reaches_solve_energy_and_settle(tmp_path):
    e = tmp_path / "e.json"
    assert cli.main(["solve", "--rows", "4", "--cols", "4", "--adc-fom-j", "2e-14", "--columns-per-adc", "2",
                     "--energy", str(e)]) == 0
    report = json.loads(e.read_text())
    assert report["periphery"]["energy_j"]["adc"] == pytest.approx(4 * 2e-14 * 2 ** 7.5)
    s = tmp_path / "s.json"
    assert cli.main(["settle", "--rows", "4", "--cols", "4", "--tia-gbw-hz", "1e8", "--json", str(s)]) == 0
    summary = json.loads(s.read_text())
    assert summary["periphery"]["tia_gbw_hz"] == 1e8
    assert summary["tia_settle_model_s"] == pytest.approx(math.log(2 ** 9) / (2 * math.pi * 1e8))


def test_solve_refuses_periphery_without_energy(capsys):
    assert cli.main(["solve", "--adc-fom-j", "1e-14"]) == 2
    assert "add --energy" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["infer", "program"])
def test_options_reach_the_circuit_spec(command, monkeypatch, tmp_path):
    """infer and program put every option into the CircuitSpec their runs use."""
    seen = {}
    module = "xbar.experiments.circuits" if command == "infer" else "xbar.experiments.programming"

    def capture(dataset, spec, *a, **k):
        seen["spec"] = spec
        raise SystemExit(0)
    monkeypatch.setattr(f"{module}.run_{command}", capture)
    argv = [command, "--out", str(tmp_path / "o"), "--fault-stuck-p", "0.01", "--fault-short", "0.02",
            "--short-ohm", "800", "--variation", "typical", "--variation-scale", "0.5", "--adc-fom-j", "3e-14",
            "--tia-bias-ampere", "2e-5", "--r-p", "2e4", "--tmr", "80", "--channel-ohm", "10", "--vh", "0.6"]
    with pytest.raises(SystemExit):
        cli.main(argv)
    spec = seen["spec"]
    f = spec.faults(1)
    assert (f.stuck_p, f.short, f.short_ohm) == (0.01, 0.02, 800.0)
    assert spec.variation(1).device_ra_sigma == pytest.approx(0.025)
    assert spec.periphery.adc_fom_j == 3e-14 and spec.periphery.tia_bias_ampere == 2e-5
    dev = spec.device()
    assert (dev.mtj.r_p, dev.mtj.r_ap, dev.channel_ohm, dev.mtj.v_half_volt) == (2e4, 3.6e4, 10.0, 0.6)


def test_markdown_table_lists_every_row():
    text = markdown_table()
    for row in PARAMS.values():
        assert f"`{row.name}`" in text
    assert "| `state_sigma` | file/API |" in text and "paper Fig. 3f" in text


def test_sweep_options_become_axes_of_the_experiments_that_take_them(tmp_path, capsys):
    out = tmp_path / "s.jsonl"
    assert cli.main(["sweep", "-e", "crossbar", "-p", "rows=4", "-p", "cols=3", "-p", "batch=2", "--cells", "2",
                     "--sigma", "0.02", "-o", str(out), "-w", "1", "--quiet"]) == 0
    header = json.loads(out.read_text().splitlines()[0])
    assert header["axes"]["cells"] == [2] and header["axes"]["sigma"] == [0.02]
    assert cli.main(["sweep", "-e", "crossbar", "--fault-rate", "0.1", "-o", str(tmp_path / "t.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "--fault-rate: experiment 'crossbar' has no parameter 'fault_rate'" in err
    assert not (tmp_path / "t.jsonl").exists()


def test_the_table_does_not_slow_the_command_line_start():
    """The converters are built at import; numpy (~0.2-0.8 s) loads only when a value is checked."""
    import subprocess
    import sys
    code = "import sys, xbar.cli; sys.exit('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
