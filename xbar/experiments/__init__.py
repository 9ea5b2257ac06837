"""Experiments built from the modules: the paper's Fig. 5 grids (:mod:`xbar.experiments.paper`)."""
