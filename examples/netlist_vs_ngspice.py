"""A crossbar as a plain ngspice netlist, solved by ngspice, compared with xbar's native solver.

    python examples/netlist_vs_ngspice.py [FOLDER]     # default ./xbar-netlist-example

Writes FOLDER/array.cir, runs ``ngspice -b -r FOLDER/array.raw FOLDER/array.cir``
(nothing of xbar in between), reads the raw file back and compares the column
currents with ``xbar.solve``.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np

import xbar

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "xbar-netlist-example")
folder.mkdir(parents=True, exist_ok=True)

# An 8 x 6 array of 3-cell compound SOT-MTJs at 1.9 nm, random states, 1 ohm per wire segment.
device = xbar.library_device(thickness_nm=1.9, n_cells=3)
states = np.random.default_rng(1).integers(0, device.n_states, size=(8, 6))
array = xbar.Crossbar(device, states, row_wire_ohm=1.0, col_wire_ohm=1.0)
volts = np.linspace(0.02, 0.1, 8)  # one input vector: row i at volts[i]

netlist = xbar.write_netlist(array, folder / "array.cir", inputs=volts)
run = subprocess.run(["ngspice", "-b", "-r", "array.raw", "array.cir"], cwd=folder,
                     capture_output=True, text=True, timeout=120)
if run.returncode != 0:
    sys.exit(f"ngspice failed: {run.stderr.strip() or run.stdout[-500:]}")

(plot,) = xbar.read_raw(folder / "array.raw")  # one .op plot: {"i(vs0)": array([...]), ...}
spice = np.array([plot[f"i(vs{j})"][0] for j in range(array.shape[1])])  # current into each column's virtual ground
native = xbar.solve(array, volts[None, :]).currents[0]  # [cols] ampere
ideal = xbar.solve(array, volts[None, :], backend="ideal").currents[0]

print("column currents (uA), ngspice:", np.round(1e6 * spice, 4))
print("column currents (uA), native: ", np.round(1e6 * native, 4))
print(f"largest difference {np.abs(spice - native).max():.1e} A "
      f"({np.abs(spice - native).max() / np.abs(native).max():.1e} of the largest current)")
print(f"wires cost {100 * (1 - native.sum() / ideal.sum()):.2f} % of the ideal current")
