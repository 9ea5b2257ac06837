"""Cell faults of a crossbar: stuck-at-P, stuck-at-AP, open and shorted (broken-down) MTJ cells.

Each cell independently gets at most one fault, with the given rates (fractions
of all cells); the draw is seeded, so the same ``seed`` marks the same cells.

* stuck-at-P / stuck-at-AP: the free layer no longer switches; the cell reads
  its own R_P (or R_AP, variation included) whatever state was written;
* open: the junction or its contact is broken; the cell is *missing* from the
  circuit (+inf in the cell-resistance array, see :mod:`xbar.array.circuit`), not a
  huge resistor;
* short: the MgO barrier has broken down (dielectric breakdown, the failure
  mode of over-driven MTJs); the cell is a fixed low resistance ``short_ohm``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xbar.util.errors import ParameterError
from xbar.util.ranges import check, param
from xbar.util.validate import integer

#: Resistance of a broken-down (shorted) junction, ohm. Assumed: hard breakdown of a thin MgO
#: barrier leaves a metallic pinhole of a few hundred ohm, far below R_P (~25-37 kohm in the
#: paper's library); the exact value hardly matters while it is << R_P.
SHORT_OHM = param("short_ohm").default

FAULT_KINDS = ("stuck_p", "stuck_ap", "open", "short")


@dataclass(frozen=True)
class Faults:
    """Fault rates (fractions of cells, each 0..1, together <= 1), the short resistance in ohm and a seed."""

    stuck_p: float = 0.0
    stuck_ap: float = 0.0
    open: float = 0.0
    short: float = 0.0
    short_ohm: float = SHORT_OHM
    seed: int = 0

    def __post_init__(self):
        for name in FAULT_KINDS + ("short_ohm",):
            object.__setattr__(self, name, check(name, getattr(self, name)))
        if self.rate > 1 + 1e-12:
            raise ParameterError("fault rates add up to more than 1")
        if isinstance(self.seed, float):
            raise ParameterError(f"fault seed must be an integer >= 0, got {self.seed!r}")
        try:
            object.__setattr__(self, "seed", integer("fault seed", self.seed, low=0))
        except ParameterError:
            raise ParameterError(f"fault seed must be an integer >= 0, got {self.seed!r}") from None

    @classmethod
    def uniform(cls, rate: float, seed: int = 0, kind: str = "all", short_ohm: float = SHORT_OHM) -> "Faults":
        """``rate`` of one ``kind`` (see :data:`FAULT_KINDS`), or split evenly over all four (``"all"``).

        The Python form of ``--fault-rate RATE``; ``Faults(stuck_p=..., short=...)`` is that of the
        per-kind options (``--fault-stuck-p``, ..., ``--fault-short``).
        """
        rate = check("fault_rate", rate)
        if kind == "all":
            return cls(rate / 4, rate / 4, rate / 4, rate / 4, short_ohm, seed)
        if kind not in FAULT_KINDS:
            raise ParameterError(f"unknown fault kind {kind!r}; choose all or one of {', '.join(FAULT_KINDS)}")
        return cls(**{kind: rate}, short_ohm=short_ohm, seed=seed)

    @property
    def rate(self) -> float:
        """The fraction of faulty cells, all kinds together (the command line's ``--fault-rate``)."""
        return sum(getattr(self, k) for k in FAULT_KINDS)

    @property
    def is_zero(self) -> bool:
        """True when no cell is faulty."""
        return all(getattr(self, k) == 0 for k in FAULT_KINDS)

    def kinds(self, shape: tuple[int, ...]) -> np.ndarray:
        """Fault of each cell, ints [shape]: 0 none, 1 + index into :data:`FAULT_KINDS`."""
        u = np.random.default_rng([self.seed, 2]).random(shape)
        edges = np.cumsum([getattr(self, k) for k in FAULT_KINDS])
        kind = np.searchsorted(edges, u, side="right") + 1
        return np.where(kind > len(FAULT_KINDS), 0, kind)

    def apply(self, p_flags: np.ndarray, r_p: np.ndarray, r_ap: np.ndarray) -> np.ndarray:
        """Cell read resistances [shape] in ohm from written P flags and each cell's R_P, R_AP [shape]."""
        if self.is_zero:
            return np.where(p_flags, r_p, r_ap)
        kind = self.kinds(p_flags.shape)
        flags = np.where(kind == 1, True, np.where(kind == 2, False, p_flags))
        r = np.where(flags, r_p, r_ap)
        r = np.where(kind == 3, np.inf, r)
        return np.where(kind == 4, float(self.short_ohm), r)
