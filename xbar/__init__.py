"""xbar: circuit-level simulation of compound SOT-MTJ crossbars for in-memory computing.

The top-level API, imported lazily so that ``import xbar`` stays fast (each name
loads its module on first use)::

    import xbar
    device = xbar.library_device(thickness_nm=1.9, n_cells=3)    # the paper's 3-cell device at 1.9 nm
    array = xbar.Crossbar(device, states, row_wire_ohm=1.0, col_wire_ohm=1.0)
    currents = xbar.solve(array, voltages).currents            # [batch, cols] ampere, native solver
    xbar.write_netlist(array, "x.cir", inputs=voltages[0])      # the same circuit for ngspice

Devices: :class:`MTJ`, :class:`CompoundMTJ`, :func:`library_device`,
:func:`library_mtj`, :class:`Variation`. Arrays and circuits: :class:`Crossbar`,
:func:`build_circuit`, :class:`Circuit`. Solving: :func:`solve` (backends
``native``, ``ngspice``, ``ideal``), :class:`Solution`. Netlists:
:func:`write_netlist`, :func:`netlist_text`, :func:`read_raw`. Networks on
circuits: :class:`CircuitSpec`, :class:`AnalogNetwork`, :func:`trained`,
:func:`load_dataset`. Errors: :class:`XbarError` and its kinds
:class:`ParameterError`, :class:`CircuitError`, :class:`SolverError`.
"""

from importlib import import_module

__version__ = "0.1.0"

#: Public name -> (module, attribute).
_API = {
    "MTJ": ("device.junction", "MTJ"),
    "CompoundMTJ": ("device.compound", "CompoundMTJ"),
    "Variation": ("device.variation", "Variation"),
    "library_device": ("device.library", "library_device"),
    "library_mtj": ("device.library", "library_mtj"),
    "Crossbar": ("array.crossbar", "Crossbar"),
    "Circuit": ("array.circuit", "Circuit"),
    "build_circuit": ("array.circuit", "build_circuit"),
    "solve": ("solvers", "solve"),
    "Solution": ("solvers", "Solution"),
    "write_netlist": ("array.netlist", "write_netlist"),
    "netlist_text": ("array.netlist", "netlist_text"),
    "read_raw": ("array.raw", "read_raw"),
    "CircuitSpec": ("network.circuit_spec", "CircuitSpec"),
    "AnalogNetwork": ("network.analog", "AnalogNetwork"),
    "trained": ("network.mlp", "trained"),
    "load_dataset": ("network.datasets", "load"),
    "XbarError": ("util.errors", "XbarError"),
    "ParameterError": ("util.errors", "ParameterError"),
    "CircuitError": ("util.errors", "CircuitError"),
    "SolverError": ("util.errors", "SolverError"),
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'xbar' has no attribute {name!r}")
    module, attribute = _API[name]
    value = getattr(import_module(f".{module}", __name__), attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_API))
