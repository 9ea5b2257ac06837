"""Non-linear junctions (bias-dependent TMR): Newton solver vs ngspice, hand-solved and high-precision cases."""

import mpmath
import numpy as np
import pytest
from scipy.optimize import brentq

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.junction import MTJ, junction_current
from xbar.device.compound import CompoundMTJ
from xbar.device.variation import Variation
from xbar.device.library import library_device
from xbar.util.errors import ParameterError, SolverError
from xbar.array.netlist import netlist_text
from xbar.solvers import NewtonSolver, make_solver, solve
from xbar.solvers.newton import cell_voltages


def rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


def array(rows, cols, cells, sense, vh, seed=0, **kw):
    rng = np.random.default_rng(seed)
    opts = dict(row_wire_ohm=1.5, col_wire_ohm=2.5, driver_ohm=20.0, access_ohm=5.0)
    opts.update(kw)
    return Crossbar(library_device(thickness_nm=1.9, n_cells=cells, v_half_volt=vh),
                    rng.integers(0, cells + 1, (rows, cols)), sense=sense,
                    variation=Variation(0.05, seed), **opts)


def test_junction_iv_is_tmr_over_bias():
    mtj = MTJ.from_tmr(10e3, 1.0, v_half_volt=0.5)
    v = np.array([0.0, 0.25, 0.5, -0.5])
    i, g = junction_current(v, mtj.r_p, mtj.r_ap, mtj.v_half_volt)
    # TMR halves at V_h: R_AP(0.5 V) = R_P (1 + TMR0/2); symmetric in V.
    assert abs(0.25 / i[1] - 10e3 * (1 + 1 / 1.25)) <= 1e-9
    assert abs(0.5 / i[2] - 15e3) <= 1e-9 and abs(-0.5 / i[3] - 15e3) <= 1e-9
    assert i[0] == 0 and abs(g[0] - 1 / 20e3) <= 1e-20
    assert abs(mtj.tmr_at(0.5) - 0.5) <= 1e-15
    # Exact derivative against a central difference; parallel cells stay linear.
    h = 1e-6
    for v0 in (0.05, 0.3, 0.7):
        fd = (junction_current(v0 + h, 10e3, 20e3, 0.5)[0] - junction_current(v0 - h, 10e3, 20e3, 0.5)[0]) / (2 * h)
        assert abs(junction_current(v0, 10e3, 20e3, 0.5)[1] - fd) <= 1e-7 * fd
    assert np.allclose(junction_current(v, 10e3, 10e3, 0.3)[0], v / 10e3, rtol=1e-15, atol=0)


@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_single_cell_hand_solved(sense):
    # One AP cell between a 5 kohm driver and the sense: solve (V_in - V)/R_s = V/R(V) by bisection.
    vh, r_p, r_ap, r_drv, v_in = 0.3, 25e3, 34e3, 5e3, 0.5
    xb = Crossbar(CompoundMTJ(MTJ(r_p, r_ap, vh), 1, channel_ohm=0.0), np.array([[0]]), driver_ohm=r_drv,
                  sense=sense, ref_ohm=1e4)
    series = r_drv + (1e4 if sense == "resistor" else 0.0)
    f = lambda v: (v_in - v) / series - junction_current(v, r_p, r_ap, vh)[0]
    v = brentq(f, 0.0, v_in, xtol=1e-18, rtol=4 * np.finfo(float).eps)
    sol = solve(xb, [[v_in]])
    assert rel(sol.currents, [[(v_in - v) / series]]) <= 1e-12
    # The bias lowers R_AP: the non-linear current exceeds the zero-bias one by percents here.
    assert sol.currents[0, 0] > 1.02 * v_in / (series + r_ap)


def _mp_solve(circuit, x, digits=40):
    """Independent high-precision solve: Newton in mpmath on the expanded network (channel nodes explicit)."""
    mpmath.mp.dps = digits
    n_nodes = circuit.n_nodes
    fixed = {0: mpmath.mpf(0)}
    for node, v in zip(circuit.input_nodes.tolist(), x):
        fixed[node] = mpmath.mpf(float(v))
    for node in circuit.sense_nodes.tolist():
        fixed[node] = mpmath.mpf(0)
    n = circuit.cell_ohm.shape[-1]
    seg = circuit.channel_segment_ohm
    extra = n if seg > 0 else 0
    rows, cols = circuit.shape
    # Unknowns: free circuit nodes, then channel node k of device d at n_nodes + d * n + k.
    total = n_nodes + rows * cols * extra
    unknown = [k for k in range(total) if k not in fixed]
    pos = {k: i for i, k in enumerate(unknown)}
    lin = [(int(a), int(b), mpmath.mpf(1) / mpmath.mpf(float(r))) for g in circuit.resistors
           for a, b, r in zip(g.a, g.b, g.ohm)]
    cells = []
    vh = mpmath.mpf(float(circuit.v_half_volt))
    for d, (t, rd) in enumerate(zip(circuit.device_top.ravel().tolist(), circuit.device_read.ravel().tolist())):
        i, j = divmod(d, cols)
        for k in range(n):
            h = n_nodes + d * n + k if seg > 0 else rd
            cells.append((t, h, mpmath.mpf(float(circuit.cell_rp_ohm[i, j, k])),
                          mpmath.mpf(float(circuit.cell_ohm[i, j, k]))))
            if seg > 0:
                lin.append((h, n_nodes + d * n + k - 1 if k else rd, 1 / mpmath.mpf(float(seg))))
    v = [fixed.get(k, mpmath.mpf(0)) for k in range(total)]

    def kcl(v):
        f = [mpmath.mpf(0)] * total
        jac = mpmath.zeros(len(unknown), len(unknown))
        for a, b, g in lin:
            cur = g * (v[a] - v[b])
            f[a] += cur
            f[b] -= cur
            for p, q, s in ((a, a, g), (b, b, g), (a, b, -g), (b, a, -g)):
                if p in pos and q in pos:
                    jac[pos[p], pos[q]] += s
        for a, b, rp, r0 in cells:
            u = v[a] - v[b]
            r = rp + (r0 - rp) / (1 + (u / vh) ** 2)
            cur = u / r
            dg = mpmath.diff(lambda w: w / (rp + (r0 - rp) / (1 + (w / vh) ** 2)), u)
            f[a] += cur
            f[b] -= cur
            for p, q, s in ((a, a, dg), (b, b, dg), (a, b, -dg), (b, a, -dg)):
                if p in pos and q in pos:
                    jac[pos[p], pos[q]] += s
        return f, jac

    for _ in range(30):
        f, jac = kcl(v)
        step = mpmath.lu_solve(jac, mpmath.matrix([-f[k] for k in unknown]))
        for k in unknown:
            v[k] += step[pos[k]]
        if max(abs(s) for s in step) < mpmath.mpf(10) ** (-digits + 5):
            break
    f, _ = kcl(v)
    if circuit.sense == "tia":
        return np.array([float(-f[s]) for s in circuit.sense_nodes.tolist()])
    return np.array([float(v[o] / mpmath.mpf(circuit.crossbar.ref_ohm)) for o in circuit.output_nodes.tolist()])


@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_2x2_against_high_precision(sense):
    xb = array(2, 2, 2, sense, 0.3, seed=3)
    c = build_circuit(xb)
    x = np.array([0.5, 0.37])
    exact = _mp_solve(c, x)
    assert rel(solve(c, x[None]).currents[0], exact) <= 1e-12


@pytest.mark.parametrize("sense", ["tia", "resistor"])
@pytest.mark.parametrize("cells", [1, 3])
def test_huge_vh_is_the_linear_solver(sense, cells):
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 0.5, (4, 12))
    lin = solve(array(12, 10, cells, sense, np.inf), x).currents
    nonlin_xb = array(12, 10, cells, sense, 1e9)
    assert build_circuit(nonlin_xb).nonlinear
    # Resistor sensing (1 Mohm) is ill-conditioned: the linear solver's node voltages carry ~5e-13 V of
    # rounding there (its refinement forms L v, not branch currents), i.e. ~2e-12 relative in the outputs.
    assert rel(solve(nonlin_xb, x).currents, lin) <= (1e-12 if sense == "tia" else 5e-12)


def test_nonlinear_answer_differs_from_linear_by_the_expected_order():
    # At 0.5 V on V_h = 0.5 V an AP cell with no IR drop loses half its TMR, so an all-AP 1-cell
    # array carries (1 + TMR0) / (1 + TMR0/2) times the zero-bias current; wires pull it a little lower.
    dev = library_device(thickness_nm=1.9, n_cells=1, v_half_volt=0.5)
    tmr0 = dev.mtj.tmr
    x = np.full((1, 8), 0.5)
    states = np.zeros((8, 8), dtype=int)
    ideal = Crossbar(CompoundMTJ(dev.mtj, 1, 0.0), states)
    ideal_linear = Crossbar(CompoundMTJ(library_device(thickness_nm=1.9, n_cells=1).mtj, 1, 0.0), states)
    ratio = solve(ideal, x).currents / solve(ideal_linear, x).currents
    assert rel(ratio, np.full_like(ratio, (1 + tmr0) / (1 + tmr0 / 2))) <= 1e-12
    wired = Crossbar(dev, states, row_wire_ohm=1.0, col_wire_ohm=1.0)
    linear = Crossbar(library_device(thickness_nm=1.9, n_cells=1), states, row_wire_ohm=1.0, col_wire_ohm=1.0)
    change = solve(wired, x).currents / solve(linear, x).currents - 1
    assert 0.5 * tmr0 / 2 / (1 + tmr0 / 2) < change.min() and change.max() < tmr0 / 2 / (1 + tmr0 / 2)


def test_iteration_counts_are_reported():
    c = build_circuit(array(16, 16, 3, "tia", 0.5))
    s = make_solver(c)
    assert isinstance(s, NewtonSolver)
    s.solve(np.random.default_rng(0).uniform(0, 0.1, (5, 16)))
    assert s.iterations.shape == (5,) and 2 <= s.iterations.min() and s.iterations.max() <= 10


def test_cell_voltages_satisfy_the_junction_iv():
    # Cell currents from the solved cell voltages add up to the channel current of each device.
    c = build_circuit(array(6, 5, 3, "tia", 0.3))
    x = np.random.default_rng(1).uniform(0, 0.5, (2, 6))
    v = solve(c, x, node_voltages=True).node_voltages
    cells = cell_voltages(c, v)
    i_cells = junction_current(cells, c.cell_rp_ohm[None], c.cell_ohm[None], c.v_half_volt)[0]
    # Channel node 0 sits one segment from the read terminal: its voltage over the segment is the device current.
    v_dev = v[:, c.device_top] - v[:, c.device_read]
    h0 = v_dev - cells[..., 0]
    assert rel(i_cells.sum(-1), h0 / c.channel_segment_ohm) <= 1e-10


def test_non_convergence_is_one_line_error():
    # Newton converges in ~5 steps even at V_h = 10 mV (the I-V is monotonic); one step is not enough.
    c = build_circuit(array(8, 8, 1, "tia", 0.01))
    assert NewtonSolver(c).solve(np.full((1, 8), 0.5)).currents.shape == (1, 8)
    with pytest.raises(SolverError) as err:
        NewtonSolver(c, max_iterations=1).solve(np.full((1, 8), 0.5))
    assert "\n" not in str(err.value) and "did not converge" in str(err.value)


@pytest.mark.bad_input
@pytest.mark.parametrize("vh", [1e-4, 0.0, -0.5, float("nan"), "abc"])
def test_invalid_vh_is_refused(vh):
    with pytest.raises(ParameterError):
        MTJ(10e3, 20e3, vh)


def test_netlist_writes_the_iv_once():
    text = netlist_text(build_circuit(array(4, 3, 2, "tia", 0.5)))
    assert text.count(".func ijn") == 1 and text.count("Bcell") == 2 and "Rcell" not in text
    assert ".param vh=0.5" in text and "reltol=" in text
    linear = netlist_text(build_circuit(array(4, 3, 2, "tia", np.inf)))
    assert "ijn" not in linear and "reltol" not in linear


@pytest.mark.parametrize("shape", [(16, 16), (32, 24)])
@pytest.mark.parametrize("cells", [1, 2, 3])
def test_native_vs_ngspice(shape, cells):
    rng = np.random.default_rng(cells)
    worst = 0.0
    for vh in (0.3, 0.5):
        for sense in ("tia", "resistor"):
            c = build_circuit(array(*shape, cells, sense, vh, seed=cells))
            for v_read in (0.1, 0.5):
                x = rng.uniform(0, v_read, (2, shape[0]))
                x[0] = v_read
                ref = solve(c, x, "ngspice").currents
                worst = max(worst, rel(solve(c, x).currents, ref))
    assert worst <= 1e-9


@pytest.mark.slow
def test_128x128_tile_vs_ngspice_klu():
    for vh, v_read in ((0.3, 0.5), (0.5, 0.1)):
        c = build_circuit(Crossbar(library_device(thickness_nm=1.9, n_cells=3, v_half_volt=vh),
                                   np.random.default_rng(0).integers(0, 4, (128, 128)),
                                   row_wire_ohm=1.0, col_wire_ohm=1.0))
        x = np.random.default_rng(1).uniform(0, v_read, (2, 128))
        assert rel(solve(c, x).currents, solve(c, x, "ngspice").currents) <= 1e-9


def open_cell_array(shape, thickness_nm, rng, **wires):
    """3-cell devices (V_h 0.3 V) with explicit +-10 % cell resistances; cell (0, 0, 1) and device (2, 3) open."""
    dev = library_device(thickness_nm=thickness_nm, n_cells=3, v_half_volt=0.3)
    states = rng.integers(0, 4, shape)
    flags = dev.cell_states(states)
    r = np.where(flags, dev.mtj.r_p, dev.mtj.r_ap) * rng.uniform(0.9, 1.1, flags.shape)
    r[0, 0, 1] = r[2, 3, :] = np.inf
    return Crossbar(dev, states, cell_resistance_ohm=r, **wires)


def test_open_cells_and_explicit_resistances_vs_ngspice():
    rng = np.random.default_rng(7)
    c = build_circuit(open_cell_array((6, 5), 1.9, rng, row_wire_ohm=2.0, col_wire_ohm=2.0))
    assert c.nonlinear and np.isinf(c.cell_rp_ohm[2, 3]).all()
    x = rng.uniform(0, 0.5, (2, 6))
    assert rel(solve(c, x).currents, solve(c, x, "ngspice").currents) <= 1e-9


@pytest.mark.bad_input
def test_nonlinear_explicit_resistances_need_states():
    r = np.full((2, 2, 1), 20e3)
    with pytest.raises(ParameterError):
        build_circuit(Crossbar(library_device(thickness_nm=1.9, n_cells=1, v_half_volt=0.5), cell_resistance_ohm=r))
