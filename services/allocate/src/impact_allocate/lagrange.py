"""A Lagrangian lower bound from the LP duals, valid for every portfolio.

For row multipliers ``u >= 0`` (duals of the LP relaxation, ``impact_allocate.lp``) and any feasible
``z = (x, t)``: ``objective·z >= objective·z + u·(rows·z - rhs)``. With ``u`` scaled so
that ``t`` keeps a non-negative coefficient, this gives ``value(x) >= L(x)`` where
``L(x) = ũ·(Ã x) - u·rhs``, ``Ã`` = the objective row on ``x`` stacked on the rows and
``ũ = (1, u)``. ``L`` is smallest at ``x0`` (``x0_j = 1`` iff ``r_j = ũ·Ã_j < 0``) and
flipping ``x_j`` away from ``x0`` adds exactly ``w_j = |r_j|``. So every portfolio whose
value is at most ``T`` flips only items with ``w_j <= T - L(x0)``, with total weight at
most ``T - L(x0)``: the basis of the exact enumeration in ``impact_allocate.meet``.
Branching fixes some items (``fixed``): they keep their value and are never flipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from impact_allocate.lp import relax
from impact_allocate.program import BinaryProgram, FloatArray


@dataclass(frozen=True)
class Lagrangian:
    """The bound ``L(x) = lmin + Σ_{j flipped from x0} weight_j`` and its ingredients."""

    multipliers: FloatArray  # ũ = (1, u): one per row of ``extended``
    extended: FloatArray  # objective row on x stacked on the program rows, (1 + m) x n
    x0: FloatArray  # the portfolio minimising L (usually infeasible)
    weight: FloatArray  # w_j = |r_j| >= 0, the increase of L when x_j is flipped
    lmin: float  # L(x0), equal to the LP optimum up to rounding
    x_lp: FloatArray  # the LP optimum (for rounding heuristics)

    @property
    def flip_direction(self) -> FloatArray:
        """``+1`` where flipping adds the item (x0_j = 0), ``-1`` where it removes it."""
        return 1.0 - 2.0 * self.x0


@dataclass(frozen=True)
class Columns:
    """The extended matrix of a program and its distinct columns (computed once)."""

    extended: FloatArray  # objective row on x stacked on the program rows, (1 + m) x n
    distinct: FloatArray  # one row per distinct column
    inverse: NDArray[np.int64]  # column j is distinct[inverse[j]]

    @staticmethod
    def of(program: BinaryProgram) -> Columns:
        n = program.n_binary
        extended = np.vstack([program.objective[:n], program.rows[:, :n]])
        distinct, inverse = np.unique(extended.T, axis=0, return_inverse=True)
        return Columns(extended, distinct, inverse.ravel().astype(np.int64))


def lagrangian(
    program: BinaryProgram,
    fixed: Mapping[int, int] | None = None,
    columns: Columns | None = None,
) -> Lagrangian | None:
    """The bound from the LP relaxation's duals, for the portfolios that agree with
    ``fixed`` (those items get weight ``inf``: never flipped); ``None`` when infeasible."""
    relaxed = relax(program, fixed)
    if relaxed is None:
        return None
    u = relaxed.duals
    if program.has_t:  # keep t's Lagrangian coefficient 1 - u·t_weight non-negative
        t_weight = float(u @ -program.rows[:, -1])
        if t_weight > 1.0:
            u = u / t_weight
    columns = columns or Columns.of(program)
    multipliers = np.append(1.0, u)
    # identical columns get bit-identical weights (the enumeration groups them)
    reduced = (columns.distinct @ multipliers)[columns.inverse]
    x0 = (reduced < 0).astype(float)
    weight = np.abs(reduced)
    for index, value in (fixed or {}).items():
        x0[index], weight[index] = float(value), np.inf
    lmin = float(reduced @ x0 - u @ program.rhs)
    return Lagrangian(multipliers, columns.extended, x0, weight, lmin, relaxed.x)
