"""A Lagrangian lower bound from the LP duals, valid for every portfolio.

For row multipliers ``u >= 0`` (HiGHS duals of the LP relaxation) and any feasible
``z = (x, t)``: ``objective·z >= objective·z + u·(rows·z - rhs)``. With ``u`` scaled so
that ``t`` keeps a non-negative coefficient, this gives ``value(x) >= L(x)`` where
``L(x) = ũ·(Ã x) - u·rhs``, ``Ã`` = the objective row on ``x`` stacked on the rows and
``ũ = (1, u)``. ``L`` is smallest at ``x0`` (``x0_j = 1`` iff ``r_j = ũ·Ã_j < 0``) and
flipping ``x_j`` away from ``x0`` adds exactly ``w_j = |r_j|``. So every portfolio whose
value is at most ``T`` flips only items with ``w_j <= T - L(x0)``, with total weight at
most ``T - L(x0)``: the basis of the exact enumeration in ``impact_allocate.meet``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from impact_allocate.program import BinaryProgram, FloatArray


@dataclass(frozen=True)
class Lagrangian:
    """The bound ``L(x) = lmin + Σ_{j flipped from x0} weight_j`` and its ingredients."""

    multipliers: FloatArray  # ũ = (1, u): one per row of ``extended``
    extended: FloatArray  # objective row on x stacked on the program rows, (1 + m) x n
    x0: FloatArray  # the portfolio minimising L (usually infeasible)
    weight: FloatArray  # w_j = |r_j| >= 0, the increase of L when x_j is flipped
    lmin: float  # L(x0), equal to the LP optimum up to rounding

    @property
    def flip_direction(self) -> FloatArray:
        """``+1`` where flipping adds the item (x0_j = 0), ``-1`` where it removes it."""
        return 1.0 - 2.0 * self.x0


def lagrangian(program: BinaryProgram) -> Lagrangian | None:
    """The bound from the LP relaxation's duals; ``None`` when the LP is infeasible."""
    n = program.n_binary
    bounds: list[tuple[float, float | None]] = [(0.0, 1.0)] * n
    if program.has_t:
        bounds.append((0.0, None))
    result = linprog(
        program.objective, A_ub=program.rows, b_ub=program.rhs, bounds=bounds, method="highs"
    )
    if result.status != 0:
        return None
    u = np.maximum(-np.asarray(result.ineqlin.marginals, dtype=float), 0.0)
    if program.has_t:  # keep t's Lagrangian coefficient 1 - u·t_weight non-negative
        t_weight = float(u @ -program.rows[:, -1])
        if t_weight > 1.0:
            u = u / t_weight
    extended = np.vstack([program.objective[:n], program.rows[:, :n]])
    multipliers = np.append(1.0, u)
    reduced = multipliers @ extended
    x0 = (reduced < 0).astype(float)
    lmin = float(np.minimum(reduced, 0.0).sum() - u @ program.rhs)
    return Lagrangian(multipliers, extended, x0, np.abs(reduced), lmin)
