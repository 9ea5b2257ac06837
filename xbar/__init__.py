"""xbar: circuit-level simulation of compound SOT-MTJ crossbars for in-memory computing."""

__version__ = "0.1.0"
