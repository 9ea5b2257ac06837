"""ngspice runs that keep more than the batch solver's outputs: a transient (``.tran``)
and an operating point with every node voltage and source current.

Both write the same netlist as :mod:`xbar.solvers.ngspice` (capacitances added
for the transient) and run the real ngspice in batch mode; only numbers and
index-built names reach the control section, and its paths are checked.
"""

from __future__ import annotations

import numpy as np

from xbar.array.circuit import Circuit, check_inputs
from xbar.util.errors import ParameterError, SolverError
from xbar.array.netlist import format_number, netlist_text, output_vectors
from xbar.solvers.ngspice import run_control
from xbar.solvers.ngspice_run import resolve_timeout
from xbar.solvers.transient import METHODS, Waveforms

#: Limit of one transient or operating-point run when neither ``timeout_s`` nor $XBAR_NGSPICE_TIMEOUT is set.
DEFAULT_TIMEOUT_S = 3600.0
#: ngspice's names for the native methods: backward Euler is Gear of order 1.
_NGSPICE_METHOD = {"be": "gear maxord=1", "trap": "trap"}


def ngspice_transient(circuit: Circuit, inputs, t_stop_s: float, t_step_s: float, rise_s: float,
                      method: str = "trap", max_step_s: float | None = None, probes=(),
                      reltol: float = 1e-6, timeout_s: float | None = None, executable: str | None = None) -> Waveforms:
    """ngspice ``.tran`` of the step response to ``inputs`` [rows] (PWL sources rising over ``rise_s``).

    Returns ngspice's own time points (every accepted step, ``max_step_s``
    bounding them; default ``t_step_s``) with the sense outputs and ``probes``. ``timeout_s``:
    limit of the run (default $XBAR_NGSPICE_TIMEOUT, else :data:`DEFAULT_TIMEOUT_S`).
    """
    x = check_inputs(inputs, circuit.shape[0])
    if len(x) != 1:
        raise ParameterError(f"a step response takes one input vector, got {len(x)}")
    if method not in METHODS:
        raise ParameterError(f"unknown transient method {method!r}; choose one of {', '.join(METHODS)}")
    nums = [float(t_stop_s), float(t_step_s), float(rise_s), float(max_step_s or t_step_s), float(reltol)]
    if not all(np.isfinite(v) and v > 0 for v in nums):
        raise ParameterError("transient times and tolerance must be finite and > 0")
    t_stop, t_step, _, t_max, rtol = nums
    names = circuit.node_names()
    probes = [int(p) for p in np.asarray(probes, dtype=np.int64).reshape(-1)]
    vectors = output_vectors(circuit) + [f"v({names[p]})" for p in probes]
    text = netlist_text(circuit, inputs=x[0], analysis=False, capacitors=True, rise_s=rise_s)
    text += (f".options method={_NGSPICE_METHOD[method]} reltol={format_number(rtol)} abstol=1e-18 "
             "vntol=1e-15\n")
    plot = run_control(text, f"tran {format_number(t_step)} {format_number(t_stop)} 0 {format_number(t_max)}",
                       f"time {' '.join(vectors)}", "transient", resolve_timeout(timeout_s, DEFAULT_TIMEOUT_S),
                       executable)
    times = plot["time"]
    outs = np.stack([plot[n] for n in output_vectors(circuit)], axis=1)
    currents = outs if circuit.sense == "tia" else outs / circuit.crossbar.ref_ohm
    probe_v = np.stack([plot[f"v({names[p]})"] for p in probes], axis=1) if probes else np.zeros((len(times), 0))
    xbar = circuit.crossbar
    gain = -xbar.tia_feedback_ohm if xbar.sense == "tia" else xbar.ref_ohm
    return Waveforms(times, currents, currents * gain, probe_v, np.full(circuit.n_nodes, np.nan))


def ngspice_operating_point(circuit: Circuit, inputs, timeout_s: float | None = None,
                            executable: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ngspice ``.op`` of one input vector [rows]: every node voltage [n_nodes] (ground 0) and the
    source currents [n_sources] (rows then sense sources, ampere, out of each source into the network).
    """
    x = check_inputs(inputs, circuit.shape[0])
    if len(x) != 1:
        raise ParameterError(f"an operating point takes one input vector, got {len(x)}")
    names = circuit.node_names()
    sources = [f"v{i}" for i in range(circuit.shape[0])]
    if circuit.sense == "tia":
        sources += [f"vs{j}" for j in range(circuit.shape[1])]
    plot = run_control(netlist_text(circuit, inputs=x[0], analysis=False), "op", "all", "operating point",
                       resolve_timeout(timeout_s, DEFAULT_TIMEOUT_S), executable)
    try:
        v = np.array([0.0] + [plot[f"v({n})"][0] if f"v({n})" in plot else plot[n][0] for n in names[1:]])
        # ngspice's branch current flows into the source's + terminal: the network receives its negative.
        i = -np.array([plot[f"i({s})"][0] for s in sources])
    except KeyError as exc:
        raise SolverError(f"ngspice operating point lacks {exc.args[0]}") from None
    return v, i


__all__ = ["ngspice_operating_point", "ngspice_transient"]
