"""Hostile values in every field of every dataclass a user can build: refused at the boundary.

The dataclasses are found by introspection (every module of the package), so a new
one must join :data:`VALID` (with valid keyword arguments) or :data:`OUTPUTS` (with the
reason it takes no user input): an unlisted dataclass fails this test. Each field then
gets each value of :data:`HOSTILE`; the constructor must raise one clean error, and no
netlist text ever contains any of them.
"""

import dataclasses
import importlib
import pkgutil

import numpy as np
import pytest

import xbar
from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.junction import MTJ
from xbar.device.compound import CompoundMTJ
from xbar.device.variation import Variation
from xbar.device.faults import Faults
from xbar.util.errors import ParameterError, SolverError, XbarError
from xbar.array.netlist import netlist_text

INJECTION = "1\n.control\nshell touch /tmp/xbar-pwned\n.endc"

#: One value per way a field can be wrong: netlist injections, numbers in strings, bools,
#: complex, non-finite, containers and objects of the wrong kind.
HOSTILE = {
    "control_block": INJECTION,
    "endc_only": "0\n.endc",
    "include": ".include /etc/passwd",
    "param_smuggle": "1 rc0=0 shell rm -rf ~",
    "semicolon": "1; shell id",
    "numeric_string": "1e3",
    "empty_string": "",
    "nan_string": "nan",
    "bytes": b"1",
    "bool": True,
    "numpy_bool": np.bool_(False),
    "complex": 1 + 2j,
    "numpy_complex": np.complex128(3),
    "nan": float("nan"),
    "inf": float("inf"),
    "minus_inf": -float("inf"),
    "string_list": [INJECTION],
    "complex_list": [1 + 1j, 2j],
    "dict": {"a": 1},
    "object": object(),
    "none": None,
}


def _device():
    return CompoundMTJ(MTJ(10e3, 25e3), 2)


def _crossbar():
    return Crossbar(_device(), np.array([[0, 1, 2], [2, 1, 0]]), row_wire_ohm=1.0, col_wire_ohm=2.0,
                    variation=Variation(0.1, 7))


def _fields(obj):
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def _network():
    from xbar.network.mlp import Network
    return Network([np.ones((3, 2)), np.ones((2, 2))], [np.zeros(2), np.zeros(2)])


def _valid():
    """Qualified class name -> a function giving valid keyword arguments."""
    from xbar.network import circuit_spec, datasets, mapping, quantize
    from xbar.analysis import periphery
    from xbar.programming import verify as programming
    from xbar.device import switching
    from xbar import sweeps as sweep
    from xbar.array import write_circuit
    from xbar.solvers.result import Solution

    def quantized():
        q = quantize.quantize_network(_network(), np.linspace(-1, 1, 5))
        return _fields(q)

    def mapped():
        return _fields(mapping.map_layer(np.ones((3, 2)), 2))

    def tile():
        m = mapping.map_layer(np.ones((3, 2)), 2)
        return _fields(mapping.tile_layer(m, 0, 2, 2)[0])

    return {
        "xbar.device.junction.MTJ": lambda: dict(r_p=10e3, r_ap=25e3),
        "xbar.device.compound.CompoundMTJ": lambda: dict(mtj=MTJ(10e3, 25e3), n_cells=2, channel_ohm=300.0,
                                                 cells=(MTJ(9e3, 20e3), MTJ(11e3, 30e3))),
        "xbar.device.variation.Variation": lambda: dict(sigma=0.0, seed=3, device_ra_sigma=0.01, cell_ra_sigma=0.02,
                                               device_tmr_sigma=0.03, cell_tmr_sigma=0.04),
        "xbar.array.crossbar.Crossbar": lambda: dict(
            device=_device(), states=np.array([[0, 1, 2], [2, 1, 0]]), row_wire_ohm=1.0, col_wire_ohm=2.0,
            driver_ohm=3.0, access_ohm=4.0, sense="resistor", ref_ohm=1e5, tia_feedback_ohm=1e3,
            variation=Variation(), faults=Faults(), cell_resistance_ohm=np.full((2, 3, 2), 1.5e4)),
        "xbar.device.faults.Faults": lambda: dict(stuck_p=0.1, stuck_ap=0.1, open=0.1, short=0.1, short_ohm=400.0, seed=2),
        "xbar.array.circuit.Circuit": lambda: _fields(build_circuit(_crossbar())),
        "xbar.array.circuit.ResistorGroup": lambda: _fields(build_circuit(_crossbar()).resistors[0]),
        "xbar.network.circuit_spec.CircuitSpec": lambda: _fields(circuit_spec.CircuitSpec(channel_ohm=300.0, adc_bits=4,
                                                                            adc_full_scale_a=1e-3)),
        "xbar.network.analog.LayerResult": lambda: dict(z_analog=np.ones((2, 3)), z_ideal=np.ones((2, 3))),
        "xbar.solvers.result.Solution": lambda: dict(currents=np.ones((2, 3)), voltages=np.ones((2, 3)),
                                                     node_voltages=np.ones((2, 5))),
        "xbar.network.mlp.Network": lambda: _fields(_network()),
        "xbar.network.quantize.Quantized": quantized,
        "xbar.network.mapping.MappedLayer": mapped,
        "xbar.network.mapping.Tile": tile,
        "xbar.network.datasets.Dataset": lambda: dict(name="tiny", x_train=np.ones((2, 3)), y_train=np.array([0, 1]),
                                              x_test=np.ones((1, 3)), y_test=np.array([1])),
        "xbar.sweeps.grid.Grid": lambda: dict(experiment="crossbar", axes={"rows": (2, 3)}, figure={}),
        "xbar.array.testbench.SenseAmplifier": lambda: dict(gain=1e5, output_ohm=100.0, feedback_ohm=1e3,
                                                            ground_ohm=1e3),
        "xbar.array.capacitance.Capacitance": lambda: dict(wire_farad_per_m=2e-10, row_pitch_m=1e-6, col_pitch_m=1e-6,
                                                     junction_farad=5e-15, sense_farad=1e-14),
        "xbar.array.circuit.CapacitorGroup": lambda: dict(prefix="Cr", title="row wires", index=np.array([[0, 1]]),
                                                    a=np.array([1]), b=np.array([0]), farad=np.array([1e-15])),
        "xbar.programming.verify.ProgramParams": lambda: _fields(programming.ProgramParams()),
        "xbar.device.switching.SwitchingParams": lambda: _fields(switching.SwitchingParams()),
        "xbar.array.write_circuit.WritePath": lambda: _fields(write_circuit.WritePath()),
        "xbar.analysis.periphery.Periphery": lambda: _fields(periphery.Periphery()),
        "xbar.analysis.area.AreaModel": lambda: dict(adc_8bit_m2=3e-9, adc_doubling_per_bit=2.0, tia_m2=5e-10,
                                                     dac_driver_m2=3e-10),
        "xbar.network.mitigation.Mitigation": lambda: dict(compensate=2, device_aware=True, disconnect_shorts=False,
                                                           operating_point=False),
        "xbar.array.write_circuit.WriteCircuit": lambda: _fields(write_circuit.build_write_circuit(_device())),
        "xbar.device.access.AccessTransistor": lambda: dict(width_nm=120.0, length_nm=45.0, vth_volt=0.4,
                                                            mobility_cox_a_per_v2=5e-4, slope_n=1.2, wordline_volt=1.1,
                                                            kt1_volt=-0.1, ute=-1.4, corner="fast"),
        "xbar.device.access_card.SpiceAccessModel": lambda: dict(name="n45", kind="model", ports=4,
                                                                 text=".model n45 nmos level=1\n", source="n45.lib"),
    }


#: Dataclasses that hold what xbar computed, not what a user gives it: name -> why.
OUTPUTS = {
    "xbar.network.datasets._Source": "private table of download sources, a module constant",
    "xbar.sweeps.grid.Point": "made by sweep.plan() from a checked Grid",
    "xbar.util.ranges.Param": "a row of the range table, a module constant",
    "xbar.cli.common.ArrayOptions": "made by options_from_args() from values the range table's converters checked",
    "xbar.sweeps.grid.Sweep": "made by sweep.plan() from a checked Grid",
    "xbar.sweeps.store.Status": "a report of a results file",
    "xbar.util.store.Kind": "a results store's header tag and checks, module constants of xbar's own stores",
    "xbar.sweeps.run.RunSummary": "a report of a finished run",
    "xbar.cli.environment.Check": "one line of the doctor's report about this machine",
    "xbar.programming.verify.ProgramResult": "outcome of program-and-verify, computed",
    "xbar.solvers.write.WriteTransfer": "a write solver's output",
    "xbar.solvers.transient.Waveforms": "a transient solver's output",
    "xbar.analysis.energy.PowerBreakdown": "an analysis result",
    "xbar.device.switching.DeviceSample": "sampled switching parameters of one device, computed",
    **{f"xbar.network.models.model.{name}": "an operation of an imported network, built by xbar.network.models.importers, which "
       "checks every value read from the ONNX/.npz file (Model re-checks every shape)"
       for name in ("Activation", "Conv", "Dense", "Model", "Pool", "Reshape")},
}

#: Errors a refusal may raise: ParameterError for inputs; a Solution is a solver's output,
#: so a bad one is the solver's failure.
EXPECTED = {"xbar.solvers.result.Solution": SolverError}


def _all_dataclasses():
    found = {}
    for info in pkgutil.walk_packages(xbar.__path__, "xbar."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # optional dependencies (torch, ...) of a module we cannot test here
            continue
        for obj in vars(module).values():
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == info.name:
                found[f"{info.name}.{obj.__qualname__}"] = obj
    return found


DATACLASSES = _all_dataclasses()
VALID = _valid()


def test_every_dataclass_is_covered():
    missing = sorted(set(DATACLASSES) - set(VALID) - set(OUTPUTS))
    assert not missing, (f"dataclasses {missing} are not covered by tests/test_hostile.py: add valid keyword "
                         "arguments to VALID (and validate every field in __post_init__, see xbar/validate.py), "
                         "or list them in OUTPUTS with the reason they take no user input")


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_arguments_are_accepted(name):
    DATACLASSES[name](**VALID[name]())


def _optional(cls, field):
    return "None" in str(field.type) or field.default is None


#: Free-text fields (one printable line; reach a netlist only inside a "* " comment) and
#: name fields (letters and digits): values that meet that rule are legitimate there.
TEXT_FIELDS = {("xbar.array.circuit.ResistorGroup", "title"), ("xbar.array.circuit.CapacitorGroup", "title"),
               ("xbar.network.datasets.Dataset", "name"), ("xbar.device.access_card.SpiceAccessModel", "source")}
NAME_FIELDS = {("xbar.array.circuit.ResistorGroup", "prefix"), ("xbar.array.circuit.CapacitorGroup", "prefix"),
               ("xbar.device.access_card.SpiceAccessModel", "name")}
#: Fields where +inf means something (no breakdown at all).
INF_FIELDS = {("xbar.device.junction.MTJ", "v_half_volt"), ("xbar.array.circuit.Circuit", "v_half_volt"), ("xbar.device.switching.SwitchingParams", "vb_1cell_thin_v"),
              ("xbar.device.switching.SwitchingParams", "vb_1cell_thick_v")}


#: Fields that hold a free-form table: any dict of plain values is legitimate there.
DICT_FIELDS = {("xbar.solvers.result.Solution", "solver")}


def _legitimate(name, field, value):
    if (name, field) in DICT_FIELDS and isinstance(value, dict):
        return True
    if (name, field) in INF_FIELDS and isinstance(value, float) and value == float("inf"):
        return True
    if any(f.name == field and f.type in (bool, "bool") for f in dataclasses.fields(DATACLASSES[name])):
        return isinstance(value, (bool, np.bool_))
    if (name, field) in TEXT_FIELDS:
        return isinstance(value, str) and value.isprintable() and value != ""
    if (name, field) in NAME_FIELDS:
        return isinstance(value, str) and value.isidentifier()
    return False


CASES = [(name, f.name, bad) for name in sorted(VALID) for f in dataclasses.fields(DATACLASSES[name])
         for bad in HOSTILE if not (bad == "none" and _optional(DATACLASSES[name], f))
         and not _legitimate(name, f.name, HOSTILE[bad])]


@pytest.mark.bad_input
@pytest.mark.parametrize("name, field, bad", CASES, ids=[f"{n.rsplit('.', 1)[1]}.{f}-{b}" for n, f, b in CASES])
def test_hostile_value_in_every_field_is_refused(name, field, bad):
    kwargs = VALID[name]()
    kwargs[field] = HOSTILE[bad]
    with pytest.raises(XbarError) as info:
        DATACLASSES[name](**kwargs)
    assert isinstance(info.value, EXPECTED.get(name, ParameterError))
    message = str(info.value)
    assert "\n" not in message.replace("\\n", "")  # one line, newlines shown escaped


TITLES = {k: v for k, v in HOSTILE.items() if v not in ("", None)}


@pytest.mark.bad_input
@pytest.mark.parametrize("bad", TITLES.values(), ids=TITLES)
def test_hostile_netlist_titles_stay_comments_or_are_refused(bad):
    """A title is one comment line: anything that could leave it (newline, quotes, control) is refused."""
    circuit = build_circuit(_crossbar())
    try:
        text = netlist_text(circuit, title=bad)
    except ParameterError as exc:
        assert "unsafe netlist title" in str(exc)
        return
    assert isinstance(bad, str) and "\n" not in bad and text.splitlines()[0] == f"* {bad}"
    assert not any(line.lstrip().startswith((".control", "shell", ".include")) for line in text.splitlines())


def test_numpy_numbers_are_coerced_and_netlists_hold_only_numbers():
    device = CompoundMTJ(MTJ(np.float32(10e3), np.int64(25000)), np.int64(2), np.float64(300))
    xb = Crossbar(device, np.array([[0, 1], [2, 1]], dtype=np.uint8), row_wire_ohm=np.float32(1),
                  variation=Variation(np.float64(0.1), np.int32(5)))
    assert type(device.n_cells) is int and type(xb.variation.seed) is int and type(device.mtj.r_p) is float
    assert CompoundMTJ(MTJ(1e4, 2e4), 3.0).n_cells == 3  # an integral float is an integer
    text = netlist_text(build_circuit(xb), inputs=[0.1, 0.2], title="ok: seed (5)")
    assert "(seed 5)" in text
    for bad in HOSTILE.values():
        if isinstance(bad, str) and bad:
            assert bad not in text.replace("\n* ", "\n")
    assert ".control" not in text and "shell" not in text


@pytest.mark.bad_input
@pytest.mark.parametrize("make", [
    lambda: CompoundMTJ(MTJ(1e4, 2e4), 2.5),
    lambda: Variation(0.1, 1.5),
    lambda: Variation(0.1, -1),
    lambda: MTJ.from_tmr(1e4, "0.5"),
    lambda: MTJ.from_tmr("1e4", 0.5),
    lambda: Crossbar(_device(), np.array([["0", "1"]])),
    lambda: Crossbar(_device(), np.array([[0, 1 + 1j]])),
    lambda: Crossbar(_device(), np.array([[0, 1]], dtype=object)),
    lambda: Crossbar(_device(), cell_resistance_ohm=np.full((1, 1, 2), "1e4")),
    lambda: Crossbar(_device(), cell_resistance_ohm=np.full((1, 1, 2), 1e4 + 1j)),
], ids=["fractional_cells", "fractional_seed", "negative_seed", "string_tmr", "string_r_p", "string_states",
        "complex_states", "object_states", "string_cell_ohm", "complex_cell_ohm"])
def test_more_wrong_kinds(make):
    with pytest.raises(ParameterError):
        make()
