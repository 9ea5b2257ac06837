"""Exception types: one per kind of problem, each carrying a one-line message.

The command line turns any :class:`XbarError` into a single line on stderr and a
non-zero exit status, so messages must name the offending value.
"""


class XbarError(Exception):
    """Base class of every error xbar raises on purpose."""


class ParameterError(XbarError, ValueError):
    """An invalid parameter or input: negative resistance, NaN, wrong shape, unknown name."""


class CircuitError(XbarError):
    """The circuit description failed a structural check (floating node, bad resistance)."""


class SolverError(XbarError):
    """A solver failed: ngspice missing, timed out or did not converge; singular matrix."""


class ResourceError(XbarError):
    """A size would need more memory (or disk) than is available: refused before allocating."""
