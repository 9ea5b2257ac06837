"""The array and its circuit: the crossbar, the one circuit description, capacitance, the netlist writer and raw reader, exports and the write circuit."""
