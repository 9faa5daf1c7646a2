"""The two portfolio models as ``BinaryProgram``s over candidates ``x_0 .. x_{n-1}``.

Shared constraints: ``Σ cost_i x_i <= budget`` and, when set,
``Σ R_worst_i x_i >= min_portfolio_worst_return`` (written as ``-Σ R_worst_i x_i <= -W``).
"""

from __future__ import annotations

import numpy as np

from impact_allocate.problem import Candidates
from impact_allocate.program import BinaryProgram, FloatArray


def constraint_rows(
    candidates: Candidates, budget: float, min_worst: float | None
) -> tuple[FloatArray, FloatArray]:
    """Budget row, plus the minimum-worst-return row when ``min_worst`` is set."""
    rows = [candidates.cost]
    rhs = [budget]
    if min_worst is not None:
        rows.append(-candidates.worst)
        rhs.append(-min_worst)
    return np.vstack(rows), np.array(rhs, dtype=float)


def knapsack(
    candidates: Candidates, values: FloatArray, budget: float, min_worst: float | None
) -> BinaryProgram:
    """``max Σ values_i x_i`` under the shared constraints (stated as a minimisation)."""
    rows, rhs = constraint_rows(candidates, budget, min_worst)
    return BinaryProgram(-np.asarray(values, dtype=float), rows, rhs, candidates.size)


def minimax_regret(
    candidates: Candidates, scenario_optima: FloatArray, budget: float, min_worst: float | None
) -> BinaryProgram:
    """``min t`` s.t. ``t >= V*_s - Σ R_eff_i,s x_i`` for every scenario ``s``."""
    n = candidates.size
    shared, shared_rhs = constraint_rows(candidates, budget, min_worst)
    regret_rows = np.hstack([-candidates.effective.T, -np.ones((len(scenario_optima), 1))])
    rows = np.vstack([regret_rows, np.hstack([shared, np.zeros((len(shared), 1))])])
    rhs = np.concatenate([-np.asarray(scenario_optima, dtype=float), shared_rhs])
    objective = np.append(np.zeros(n), 1.0)
    return BinaryProgram(objective, rows, rhs, n, has_t=True)
