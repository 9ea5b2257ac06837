"""Analysis of solved circuits: pure functions over a circuit and its solution.

Nothing here solves a circuit: each function takes the one circuit description
and what a solver returned (node voltages, source currents, waveforms) and
derives designer quantities from it (power and energy, settling, noise, read
disturb). One module per quantity.
"""
