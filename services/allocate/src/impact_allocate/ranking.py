"""Tie-breaking over an explicit list of tied portfolios (same rules as ``tiebreak``).

Among portfolios within the tie tolerance of the optimum prefer (1) the higher total
median return, then (2) the lower total cost, then (3) the one holding the smallest
index where they differ. The tolerances are computed exactly as ``tiebreak.break_ties``
computes them on its growing sequence of constrained programs, so both paths agree.
"""

from __future__ import annotations

import numpy as np

from impact_allocate.program import BinaryProgram, FloatArray
from impact_allocate.tiebreak import tie_tolerance


def preferred(
    program: BinaryProgram,
    portfolios: FloatArray,
    optimum: float,
    median: FloatArray,
    cost: FloatArray,
) -> FloatArray:
    """The preferred row of ``portfolios`` (all tied with ``optimum``)."""
    if portfolios.shape[0] == 1:
        return np.asarray(portfolios[0])
    tied = program.with_row(program.objective, optimum + tie_tolerance(program, optimum))
    keep = np.ones(portfolios.shape[0], dtype=bool)
    for coefficients in (-median, cost):  # maximise median, then minimise cost
        totals = portfolios @ coefficients
        best = float(totals[keep].min())
        limit = best + tie_tolerance(tied, best)
        keep &= totals <= limit
        tied = tied.with_row(tied.pad(coefficients), limit)
    return smallest_index_first(portfolios[keep])


def smallest_index_first(portfolios: FloatArray) -> FloatArray:
    """The lexicographically largest 0/1 row: it holds the smallest index where rows differ."""
    rows = portfolios
    for column in range(rows.shape[1]):
        holding = rows[:, column] == 1.0
        if holding.any() and not holding.all():
            rows = rows[holding]
        if rows.shape[0] == 1:
            break
    return np.asarray(rows[0])
