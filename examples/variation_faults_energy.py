"""Variation, faults and the energy of a read, on one 32 x 32 array.

    python examples/variation_faults_energy.py

The same device states three ways (nominal, the typical correlated variation,
2 % faulty cells), how far each moves the column currents, and the exact energy
of one read of the nominal array split by where it is dissipated, beside the
periphery's figure-of-merit models.
"""

import numpy as np

import xbar
from xbar.analysis.periphery import Periphery
from xbar.analysis.readout import array_energy
from xbar.device.faults import Faults

device = xbar.library_device(thickness_nm=1.9, n_cells=3)
states = np.random.default_rng(0).integers(0, device.n_states, size=(32, 32))
volts = np.random.default_rng(1).uniform(0.0, 0.1, size=(16, 32))  # 16 input vectors, rows up to 0.1 V
wires = dict(row_wire_ohm=1.0, col_wire_ohm=1.0)

nominal = xbar.Crossbar(device, states, **wires)
varied = xbar.Crossbar(device, states, variation=xbar.Variation.typical(seed=1), **wires)
faulty = xbar.Crossbar(device, states, faults=Faults.uniform(0.02, seed=2), **wires)

reference = xbar.solve(nominal, volts).currents
for name, array in (("typical variation", varied), ("2 % faulty cells", faulty)):
    change = np.abs(xbar.solve(array, volts).currents - reference) / np.abs(reference).max()
    print(f"{name}: column currents move by {100 * change.mean():.2f} % on average, "
          f"{100 * change.max():.2f} % at most (of the largest current)")

energy = array_energy(xbar.build_circuit(nominal), volts, t_read_s=30e-9, periphery=Periphery())
parts = ", ".join(f"{k} {1e15 * v:.1f} fJ" for k, v in energy["array_j"].items() if k != "total" and v > 0)
print(f"one 30 ns read: array {1e12 * energy['array_j']['total']:.3f} pJ ({parts}); "
      f"Tellegen balance {energy['tellegen_error']:.1e}")
print(f"periphery (models): {1e12 * energy['periphery']['total_j']:.3f} pJ; "
      f"array alone {energy['array_efficiency']['fj_per_mac']:.2f} fJ/MAC")
