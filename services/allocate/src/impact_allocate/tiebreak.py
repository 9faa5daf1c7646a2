"""Deterministic tie-breaking among optimal portfolios, solved lexicographically.

Among portfolios whose primary objective is within ``TIE_TOLERANCE`` (relative) of the
optimum, prefer (1) the higher total median return, then (2) the lower total cost, then
(3) the portfolio holding the smallest id where two portfolios differ (ids compared as
Python strings; candidates are indexed in that order). Stages 1 and 2 are MILPs with the
previous optimum fixed as a constraint; stage 3 first proves the portfolio unique (a
no-good cut makes the MILP infeasible) and only otherwise fixes ids one by one in order.
The same uniqueness check runs first of all, so a unique optimum costs one extra solve.
Reduced-cost fixings are reused: they hold for every near-optimal portfolio. When the
deadline passes mid-way, the optimal portfolio found so far is kept.
"""

from __future__ import annotations

import numpy as np

from impact_allocate.backends import OPTIMAL, solve_milp
from impact_allocate.deadline import Deadline
from impact_allocate.program import BinaryProgram, FloatArray

#: Portfolios whose objectives differ by less than this (relative) count as tied.
TIE_TOLERANCE = 1e-9


def tie_tolerance(program: BinaryProgram, value: float) -> float:
    return TIE_TOLERANCE * (1.0 + abs(value) + program.scale)


def break_ties(
    program: BinaryProgram,
    x: FloatArray,
    optimum: float,
    fixed: dict[int, int],
    median: FloatArray,
    cost: FloatArray,
    deadline: Deadline,
) -> FloatArray:
    """The preferred optimal portfolio (see the module docstring)."""
    tied = program.with_row(program.objective, optimum + tie_tolerance(program, optimum))
    if not _has_alternative(tied, x, fixed, deadline):
        return x
    for coefficients in (-median, cost):  # maximise median, then minimise cost
        objective = tied.pad(coefficients)
        result = solve_milp(tied.with_objective(objective), fixed, deadline, x)
        if result.status != OPTIMAL or result.x is None:
            return x
        x = result.x
        best = float(objective @ tied.full(x))
        tied = tied.with_row(objective, best + tie_tolerance(tied, best))
    return smallest_ids_first(tied, x, dict(fixed), deadline)


def smallest_ids_first(
    tied: BinaryProgram, x: FloatArray, fixed: dict[int, int], deadline: Deadline
) -> FloatArray:
    """Among the portfolios of ``tied``, the one holding the smallest differing index."""
    if not _has_alternative(tied, x, fixed, deadline):
        return x
    for i in range(tied.n_binary):
        if i in fixed:
            continue
        if deadline.passed():  # keep the optimal portfolio found so far
            break
        if x[i] == 1.0:
            fixed[i] = 1
            continue
        result = solve_milp(tied, {**fixed, i: 1}, deadline)
        if result.status == OPTIMAL and result.x is not None:
            x, fixed[i] = result.x, 1
        else:
            fixed[i] = 0
    return x


def _has_alternative(
    tied: BinaryProgram, x: FloatArray, fixed: dict[int, int], deadline: Deadline
) -> bool:
    """Is there another portfolio in ``tied``? (no-good cut: differ from ``x`` somewhere)."""
    row = tied.pad(np.where(x == 1.0, 1.0, -1.0))
    excluded = tied.with_row(row, float(np.sum(x)) - 1.0)
    return solve_milp(excluded, fixed, deadline).status == OPTIMAL
