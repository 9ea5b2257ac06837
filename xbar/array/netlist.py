"""Circuit -> readable ngspice netlist text (raw files -> arrays: :mod:`xbar.array.raw`).

Every element and node name is built from integer indices (see
:func:`xbar.array.circuit.node_name`); no user string reaches the netlist except a
title that must pass :func:`safe_title`. Numbers are written in their
shortest round-trip form, so ngspice reads exactly the doubles the native solver uses.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np

from xbar import __version__
from xbar.util.atomic import write_text
from xbar.array.circuit import Circuit, as_circuit, check_inputs, node_name
from xbar.array.condensed import check_condensable, condensed_lines
from xbar.array.crossbar import Crossbar
from xbar.array.netlist_header import cells_comment, faults_comment, junction_lines, variation_comment
from xbar.array.access_netlist import (access_element, access_header, access_solver_options, temperature_lines,
                                       wordline_sources)
from xbar.array.spice_text import format_number
from xbar.array.subckt import as_subckt, check_subckt_name, port_node_names, ports_comment
from xbar.array.raw import read_raw  # noqa: F401  (its documented home before xbar.array.raw)
from xbar.util.errors import ParameterError

_SAFE_TITLE = re.compile(r"[A-Za-z0-9 _.,:()+\-=%/]{0,120}")


def safe_title(title: str) -> str:
    """Return ``title`` if it is safe inside a netlist comment, else raise ParameterError.

    Allowed: letters, digits, space and ``_.,:()+-=%/``, at most 120 characters.
    Newlines, quotes and the like are refused because ngspice ``.control`` blocks
    can run shell commands.
    """
    if not isinstance(title, str) or not _SAFE_TITLE.fullmatch(title):
        raise ParameterError(f"unsafe netlist title {title!r}: use letters, digits, spaces and _.,:()+-=%/ "
                             "(at most 120 characters)")
    return title


def _values(ohm: np.ndarray, named: dict | None = None) -> list[str]:
    """Netlist text of each value in ``ohm``, formatting each distinct value once."""
    uniq, inverse = np.unique(ohm, return_inverse=True)
    text = [(named or {}).get(u, format_number(u)) for u in uniq.tolist()]
    return [text[k] for k in inverse.ravel().tolist()]


def _labels(index: np.ndarray) -> list[str]:
    """Element labels ``i`` or ``i_j`` from an index array [m, 1] or [m, 2]."""
    if index.shape[1] == 1:
        return [str(i) for i in index[:, 0].tolist()]
    return [f"{i}_{j}" for i, j in zip(index[:, 0].tolist(), index[:, 1].tolist())]


def subckt_name(n_cells: int, channel: bool, open_cells: tuple[int, ...] = (), nonlinear: bool = False,
                access: bool = False) -> str:
    """Name of the compound-MTJ subcircuit: ``cmtj3`` (with channel) or ``cmtj3_ideal``.

    A device with open cells uses a variant without them: ``cmtj3_open0_2`` lacks cells 0 and 2.
    Non-linear junctions (behavioural cells) add ``_nl``, an access transistor ``_acc``.
    """
    opened = "_open" + "_".join(map(str, open_cells)) if open_cells else ""
    return (f"cmtj{n_cells}{opened}" + ("" if channel else "_ideal") + ("_nl" if nonlinear else "")
            + ("_acc" if access else ""))


def output_vectors(circuit: Circuit) -> list[str]:
    """ngspice vectors of the column outputs, in column order.

    TIA sensing: the 0 V sources' currents ``i(vs<j>)`` (ampere); resistor
    sensing: the sense-node voltages (volt), currents being v / R_ref.
    """
    if circuit.sense == "tia":
        return [f"i(vs{j})" for j in range(circuit.shape[1])]
    return [f"v({node_name(*circuit.node_labels[n])})" for n in circuit.output_nodes]


#: ngspice options of a non-linear netlist: Newton in ngspice stops when successive iterates
#: agree to reltol (relative) + vntol (volt) / abstol (ampere); these make its answer
#: converged to well below 1e-10 relative at read currents of nA-mA (1e-12 made ngspice 46
#: fall back to gmin stepping on some arrays: its own rounding is near that level).
NONLINEAR_OPTIONS = ".options reltol=1e-11 vntol=1e-14 abstol=1e-17"


def _subckt(n: int, channel: bool, open_cells: tuple[int, ...] = (), capacitors: bool = False,
            nonlinear: bool = False, access: list[str] | None = None) -> list[str]:
    present = [k for k in range(n) if k not in open_cells]
    params = " ".join(f"rc{k}=1" + (f" rp{k}=1" if nonlinear else "") for k in present)
    name = subckt_name(n, channel, open_cells, nonlinear, bool(access))
    rd = "s" if access else "rd"  # with a transistor the channel ends at s, the transistor's drain
    lines = [f".subckt {name} top rd{' wl' if access else ''} params: {params}",
             "* cell k: top electrode -> MTJ -> its node h<k> on the write channel"]
    if open_cells:
        lines.append(f"* open cells (no element): {' '.join(map(str, open_cells))}")
    for k in present:
        node = "h" + str(k) if channel else rd
        if nonlinear:
            lines.append(f"Bcell{k} top {node} I={{ijn(V(top,{node}), rp{k}, rc{k})}}")
        else:
            lines.append(f"Rcell{k} top {node} {{rc{k}}}")
        if capacitors:
            lines.append(f"Ccell{k} top {node} {{cj}}")
    if channel:
        lines.append(f"* channel segments toward the read terminal {rd} (one cell pitch each)")
        for k in range(n):
            lines.append(f"Rch{k} h{k} {'h' + str(k - 1) if k else rd} {{rseg}}")
    if access:
        lines += ["* access transistor: drain s, gate wl, source rd", *access]
    lines.append(f".ends {name}")
    return lines


def _open_devices(circuit: Circuit, channel: bool, names: list[str], values: list[list[str]],
                  capacitors: bool = False, rp_values: list[list[str]] | None = None,
                  read: list[str] | None = None) -> list[str]:
    """Instance lines of a circuit with open cells: each device uses the subcircuit variant of its open set.

    Devices whose cells are all open carry no current and are left out (a comment
    counts them); returns the variants' definitions followed by the instances.
    """
    rows, cols, n = circuit.cell_ohm.shape
    is_open = ~np.isfinite(circuit.cell_ohm.reshape(-1, n))
    labels = _labels(np.indices((rows, cols)).reshape(2, -1).T)
    top = circuit.device_top.ravel().tolist()
    read = read or [names[k] for k in circuit.device_read.ravel().tolist()]
    access = access_element(circuit) or None
    variants, lines, dead = {}, [], 0
    for d, opened in enumerate(is_open.tolist()):
        open_cells = tuple(k for k in range(n) if opened[k])
        if len(open_cells) == n:
            dead += 1
            continue
        nl = rp_values is not None
        if open_cells and open_cells not in variants:
            variants[open_cells] = _subckt(n, channel, open_cells, capacitors, nl, access)
        params = " ".join(f"rc{k}={values[k][d]}" + (f" rp{k}={rp_values[k][d]}" if nl else "")
                          for k in range(n) if not opened[k])
        lines.append(f"X{labels[d]} {names[top[d]]} {read[d]} "
                     f"{subckt_name(n, channel, open_cells, nl, bool(access))} params: {params}")
    head = [line for v in variants.values() for line in v]
    if dead:
        head.append(f"* {dead} device(s) with every cell open: no element, no current")
    return head + lines


def netlist_text(circuit: Circuit | Crossbar, inputs=None, title: str | None = None,
                 analysis: bool = True, capacitors: bool = False, rise_s: float | None = None,
                 batch=None, subckt: str | None = None, notes: Sequence[str] = (), condensed: bool = False) -> str:
    """The ngspice netlist of ``circuit`` (a Crossbar is built into its circuit first).

    ``inputs`` [rows] sets the row sources' DC voltages (default 0 V). With
    ``analysis`` the netlist ends in its analysis and ``.end`` (see
    :func:`result_lines`): ``ngspice -b x.cir`` prints each column's current and
    sense voltage, ``ngspice -b -r out.raw x.cir`` writes them to a raw file;
    without, the caller appends its own control section. ``subckt`` NAME
    instead writes the array as ``.subckt NAME`` with ports only (see
    :func:`xbar.array.subckt.subckt_ports`): no sources, analysis, options or
    ``.end``. ``condensed`` writes each device as its exact DC equivalent (:mod:`xbar.array.condensed`).
    ``capacitors`` adds the circuit's capacitances
    (wire, sense node, and each cell's junction inside the subcircuit) for a
    transient; ``rise_s`` makes each row source a step from 0 V at t = 0 to its
    input, linear over ``rise_s`` seconds (PWL). ``batch`` [batch, rows] (two or
    more vectors) instead writes the batch as one ``.dc`` sweep (see :func:`sweep_sources`).
    ``notes``: extra header comment lines (each checked like a title, see :func:`safe_title`).
    """
    circuit = as_circuit(circuit)
    xbar = circuit.crossbar
    rows, cols = circuit.shape
    n = xbar.n_cells
    if batch is not None:
        if circuit.access is not None or circuit.temperature_c is not None:
            raise ParameterError("a batch netlist sweeps TEMP as a counter; a circuit with a temperature or access "
                                 "transistors is written one input vector at a time")
        batch = check_inputs(batch, rows)
        if len(batch) < 2 or inputs is not None:
            raise ParameterError("a batch netlist takes two or more input vectors and no separate inputs")
    x = np.zeros(rows) if inputs is None else check_inputs(inputs, rows)[0]
    if inputs is not None and np.shape(inputs) not in ((rows,), (1, rows)):
        raise ParameterError(f"a netlist takes one input vector of {rows} voltages, got shape {list(np.shape(inputs))}")
    if subckt is not None and check_subckt_name(subckt) and (inputs is not None or batch is not None or rise_s is not None or capacitors):
        raise ParameterError("a subcircuit has ports, not sources, and no capacitances (DC): give no inputs, "
                             "batch, rise time or capacitors with subckt")
    if condensed:
        check_condensable(circuit, capacitors)
    names = circuit.node_names() if subckt is None else port_node_names(circuit)
    mtj = xbar.device.mtj
    channel = circuit.channel_segment_ohm > 0
    nonlinear = circuit.junctions_nonlinear
    access = access_element(circuit) or None
    head = [
        f"* {safe_title(title) if title is not None else 'xbar crossbar'}",
        f"* generated by xbar {__version__}; regenerate rather than edit",
        f"* array: {rows} rows x {cols} columns of {n}-cell compound SOT-MTJs",
        f"* MTJ: R_P = {mtj.r_p:.6g} ohm, R_AP = {mtj.r_ap:.6g} ohm, TMR = {100 * mtj.tmr:.4g} %"
        + (" (mean of cells that differ)" if xbar.device.cells else ""),
        *cells_comment(xbar.device),
        f"* write channel: {xbar.device.channel_ohm:.6g} ohm in {n + 1} segments of {circuit.channel_segment_ohm:.6g} ohm",
        f"* wires: row {xbar.row_wire_ohm:.6g} ohm/segment, column {xbar.col_wire_ohm:.6g} ohm/segment; "
        f"driver {xbar.driver_ohm:.6g} ohm; access {xbar.access_ohm:.6g} ohm (0 = ideal, nodes merged)",
        _sense_comment(circuit, subckt is not None),
        variation_comment(xbar.variation),
        *faults_comment(xbar.faults),
        *(f"* {safe_title(note)}" for note in notes),
        *ports_comment(circuit, subckt),
        _param_line(circuit),
        *([f".param cj={format_number(circuit.cell_farad)}"] if capacitors else []),
        *(junction_lines(circuit) if nonlinear else []),
        *temperature_lines(circuit, subckt is not None),
        *access_header(circuit),
        *([] if condensed else _subckt(n, channel, capacitors=capacitors, nonlinear=nonlinear, access=access)),
    ]
    if rise_s is not None:
        rise = float(rise_s)
        if not np.isfinite(rise) or rise <= 0:
            raise ParameterError(f"source rise time must be a finite time > 0 s, got {rise_s!r}")
        wave = [f" PWL(0 0 {format_number(rise)} {format_number(v)})" for v in x.tolist()]
    else:
        wave = [""] * rows
    if subckt is not None:
        body = []
    elif batch is None:
        head.append("* row sources: V<i> drives row i")
        body = [f"V{i} {names[node]} 0 DC {format_number(v)}{w}"
                for i, (node, v, w) in enumerate(zip(circuit.input_nodes, x, wave))]
    else:
        body = sweep_sources(circuit, batch)
    body += wordline_sources(circuit) if subckt is None else []
    for g in circuit.resistors:
        body.append(f"* {g.title}")
        labels = _labels(g.index)
        tc = f" tc1={format_number(g.tc1_per_k)}" if g.tc1_per_k else ""
        ohm = g.ohm if g.nominal_ohm is None else g.nominal_ohm
        body.extend(f"{g.prefix}{lab} {names[a]} {names[b]} {r}{tc}"
                    for lab, a, b, r in zip(labels, g.a.tolist(), g.b.tolist(), _values(ohm)))
    if capacitors:
        for g in circuit.capacitors:
            body.append(f"* {g.title}")
            body.extend(f"{g.prefix}{lab} {names[a]} {names[b]} {f}"
                        for lab, a, b, f in zip(_labels(g.index), g.a.tolist(), g.b.tolist(), _values(g.farad)))
    if condensed:
        body.extend(condensed_lines(circuit, [names[k] for k in circuit.device_top.ravel().tolist()],
                                    _read_ports(circuit, names)))
    else:
        sub = subckt_name(n, channel, nonlinear=nonlinear, access=bool(access))
        body.append(f"* devices X<i>_<j>: {sub} between row and column wire; cell resistances rc<k> "
                    + ("({rp<k>}, {rap<k>}: cell k parallel, antiparallel)" if xbar.device.cells
                       else "({rp}: parallel, {rap}: antiparallel)")
                    + (", zero-bias; rp<k>: the cell's R_P" if nonlinear else ""))
        cells = circuit.cell_ohm.reshape(-1, n)
        values = [_values(cells[:, k], _named(xbar.device, k)) for k in range(n)]
        rp_values = None
        if nonlinear:
            cell_rp = circuit.cell_rp_ohm.reshape(-1, n)
            rp_values = [_values(cell_rp[:, k], _named(xbar.device, k)) for k in range(n)]
        if np.isfinite(cells).all():
            fmt = "X{} {} {} " + sub + " params: " + " ".join(
                f"rc{k}={{}}" + (f" rp{k}={{}}" if nonlinear else "") for k in range(n))
            columns = [v for k in range(n) for v in ((values[k], rp_values[k]) if nonlinear else (values[k],))]
            top = [names[k] for k in circuit.device_top.ravel().tolist()]
            read = _read_ports(circuit, names)
            body.extend(map(fmt.format, _labels(np.indices((rows, cols)).reshape(2, -1).T), top, read, *columns))
        else:
            body.extend(_open_devices(circuit, channel, names, values, capacitors, rp_values,
                                      _read_ports(circuit, names)))
    if subckt is not None:
        return "\n".join(as_subckt(circuit, subckt, head, body)) + "\n"
    if xbar.sense == "tia":
        body.append("* virtual-ground sense: 0 V sources, current flows from the column into Vs<j>")
        body.extend(f"Vs{j} {names[node]} 0 DC 0" for j, node in enumerate(circuit.sense_nodes))
    tail = access_solver_options(circuit) or [".options klu"]
    tail += [NONLINEAR_OPTIONS] if circuit.nonlinear else []
    if analysis:
        tail += [f".save {' '.join(output_vectors(circuit))}", *result_lines(circuit, x, batch), ".end"]
    return "\n".join(head + body + tail) + "\n"


def _read_ports(circuit: Circuit, names: list[str]) -> list[str]:
    """Each device's read-side ports: its column node, and with an access transistor its row's word line."""
    read = [names[k] for k in circuit.device_read.ravel().tolist()]
    if circuit.access is None:
        return read
    cols = circuit.shape[1]
    return [f"{node} wl{d // cols}" for d, node in enumerate(read)]


def _sense_comment(circuit: Circuit, subckt: bool) -> str:
    xbar = circuit.crossbar
    if xbar.sense == "tia":
        if subckt:
            return "* sense: none inside; the ports o<j> go to the testbench's sense amplifiers (virtual ground)"
        return "* sense: virtual ground (ideal TIA), currents i(vs<j>)"
    return (f"* sense: reference resistor {xbar.ref_ohm:.6g} ohm to "
            + ("the port ref" if subckt else "ground") + ", voltages v(o<j>)")


def _param_line(circuit: Circuit) -> str:
    """The device parameters: ``rp``, ``rap`` of identical cells, ``rp<k>``, ``rap<k>`` of cells that differ."""
    device = circuit.crossbar.device
    if device.cells:
        pairs = [f"rp{k}={format_number(c.r_p)} rap{k}={format_number(c.r_ap)}" for k, c in enumerate(device.cells)]
    else:
        pairs = [f"rp={format_number(device.mtj.r_p)} rap={format_number(device.mtj.r_ap)}"]
    return f".param {' '.join(pairs)} rseg={format_number(circuit.channel_segment_ohm)}"


def _named(device, k: int) -> dict[float, str]:
    """Cell k's resistances written by parameter name: its own R_P, R_AP (``{rp}``, or ``{rp<k>}`` when
    the cells differ); any other value (variation, faults) is written as a number."""
    if device.cells:
        cell = device.cells[k]
        return {cell.r_ap: f"{{rap{k}}}", cell.r_p: f"{{rp{k}}}"}
    return {device.mtj.r_ap: "{rap}", device.mtj.r_p: "{rp}"}


def result_lines(circuit: Circuit, x: np.ndarray, batch=None) -> list[str]:
    """The analysis that shows its answer: a one-point ``.dc`` of row source V0 at its own value (the
    operating point, without the listing of every node ``.op`` prints in batch mode) and one ``.meas``
    per column, so ``ngspice -b x.cir`` prints ``i_col<j>`` (ampere, into the sense element) and
    ``v_col<j>`` (volt, the sense output) for every column; a ``batch`` sweep prints them as a ``.print`` table.
    """
    rows, cols = circuit.shape
    xbar = circuit.crossbar
    outs = output_vectors(circuit)
    if xbar.sense == "tia":
        current, voltage = outs, [f"par('{format_number(-xbar.tia_feedback_ohm)}*{o}')" for o in outs]
        what = f"i_col<j>: current into the column's virtual ground; v_col<j>: ideal TIA output -R_f i, " \
               f"R_f = {xbar.tia_feedback_ohm:.6g} ohm"
    else:
        current, voltage = [f"par('{o}/{format_number(xbar.ref_ohm)}')" for o in outs], outs
        what = "i_col<j>: current into the reference resistor; v_col<j>: its voltage"
    if batch is not None:
        return [f"* results: a table of {what}, one line per input vector",
                f".print dc {' '.join(current)}", analysis_line(batch)]
    v0 = format_number(x[0])
    return [f"* results: ngspice -b prints {what} (6 digits; -r out.raw keeps every digit)",
            f".dc V0 {v0} {v0} 1",
            *(line for j, (c, v) in enumerate(zip(current, voltage))
              for line in (f".meas dc i_col{j} max {c}", f".meas dc v_col{j} max {v}"))]


def analysis_line(batch=None) -> str:
    """``.op`` for one input vector, or the ``.dc`` sweep that plays a ``batch`` [batch, rows]."""
    return ".op" if batch is None else f".dc TEMP 0 {len(batch) - 1} 1"


def sweep_sources(circuit: Circuit, x: np.ndarray) -> list[str]:
    """Row sources that play the batch ``x`` [batch, rows] as one ``.dc`` sweep of the temperature.

    The sweep steps TEMP through 0, 1, ..., batch-1; behavioural source ``B<i>``
    drives row i with ``pwl(temper, k, x[k, i], ...)``, exactly ``x[k, i]`` at
    step k. Nothing in the circuit depends on temperature (no resistor has a
    temperature coefficient), so the temperature is only a counter. It is used
    rather than a control node because the sources then hold no derivative in
    the circuit matrix, which stays the same from vector to vector: ngspice's KLU
    refactors it with the first pivots, and a changing entry cost up to 5e-9 of
    accuracy. Each vector is one solve (two Newton iterations), with no
    re-parsing and no growing list of plots: at 128x128 with KLU about a tenth
    of the cost per vector of ``alter`` + ``op`` in a ``.control`` loop.
    """
    names = circuit.node_names()
    lines = [f"* batch of {len(x)} input vectors as a .dc sweep of TEMP (a counter here): at TEMP = k, "
             "B<i> drives row i with input vector k"]
    steps = [format_number(k) for k in range(len(x))]
    for i, node in enumerate(circuit.input_nodes.tolist()):
        points = ", ".join(f"{k},{v}" for k, v in zip(steps, map(format_number, x[:, i].tolist())))
        lines.append(f"B{i} {names[node]} 0 V = pwl(temper, {points})")
    return lines


def source_vectors(circuit: Circuit, batch: bool = False) -> list[str]:
    """ngspice vectors of the row sources' currents (``V<i>``, or ``B<i>`` in a batch sweep).

    ngspice's source current flows into the source's positive terminal, so the
    current the sources deliver is minus their sum: it must match the sensed
    total, a whole-circuit Kirchhoff check of every solve.
    """
    prefix = "b" if batch else "v"
    return [f"i({prefix}{i})" for i in range(circuit.shape[0])]


def driver_vectors(circuit: Circuit) -> list[str]:
    """ngspice vectors of the node each row driver feeds (the row's source node without a driver):
    with the source currents they show whether ngspice applied what xbar drove (:mod:`xbar.solvers.checks`)."""
    nodes = circuit.input_nodes.copy()
    for group in circuit.resistors:
        if group.prefix == "Rdrv":
            nodes[group.index[:, 0]] = group.b
    return [f"v({node_name(*circuit.node_labels[n])})" for n in nodes]


def write_netlist(circuit: Circuit | Crossbar, path, inputs=None, title: str | None = None,
                  subckt: str | None = None, notes: Sequence[str] = ()) -> Path:
    """Write :func:`netlist_text` to ``path`` atomically (``subckt`` NAME: the array as a subcircuit
    with ports only, for a designer's own testbench); returns the path."""
    return write_text(path, netlist_text(circuit, inputs=inputs, title=title, subckt=subckt, notes=notes))
