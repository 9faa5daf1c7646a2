"""The arithmetic of the meet-in-the-middle search (``impact_allocate.meet``) on a
program's extended rows: how far each row may move for a target value, the lower bounds
the Lagrangian multipliers give, and the exact value of enumerated portfolios."""

from __future__ import annotations

import numpy as np

from impact_allocate.program import BinaryProgram, FloatArray
from impact_allocate.subsets import SubsetTable


def largest_value(program: BinaryProgram) -> float:
    """An upper bound on the value of any portfolio."""
    n = program.n_binary
    largest = float(np.abs(program.objective[:n]).sum())
    if program.has_t:
        weight = -program.rows[:, -1]
        regret = weight > 0
        reach = np.abs(program.rows[regret, :n]).sum(axis=1) + np.abs(program.rhs[regret])
        largest += float(program.objective[-1]) * float(np.max(reach / weight[regret], initial=0))
    return largest + 1.0


def row_caps(program: BinaryProgram, base: FloatArray, target: float, slack: float) -> FloatArray:
    """Largest deviation of each extended row for a portfolio of value ``<= target``."""
    limit = np.append(target, program.rhs)
    if program.has_t:  # value = objective_t * t, so t <= target / objective_t
        t_max = target / float(program.objective[-1])
        limit[1:] += -program.rows[:, -1] * t_max
    return limit - base + slack


def row_lows(
    left: SubsetTable, right: SubsetTable, caps: FloatArray, multipliers: FloatArray, dims: int
) -> FloatArray:
    """Lower bounds on each extended row's deviation: ``ũ·deviation >= 0`` and
    ``deviation <= caps`` give ``ũ_k deviation_k >= -Σ_{j≠k} ũ_j caps_j`` (rows that never
    move contribute 0)."""
    moving = np.any(left.deviation[1:dims] != 0, axis=1) | np.any(
        right.deviation[1:dims] != 0, axis=1
    )
    rows = dims - 1
    bounded = np.where(moving, caps, 0.0)
    reach = float(multipliers @ bounded)
    margin = 1e-9 * (1.0 + float(multipliers @ np.abs(bounded)))
    low = np.full(rows, -np.inf)
    usable = (multipliers > 1e-12) & moving
    low[usable] = -(reach - multipliers[usable] * bounded[usable] + margin) / multipliers[usable]
    low[~moving] = -np.inf
    return low


def portfolio_values(program: BinaryProgram, activity: FloatArray, slack: float) -> FloatArray:
    """Exact values of portfolios given their extended-row activities (inf if infeasible)."""
    rows = activity[1:] - program.rhs[:, None]
    value = activity[0].copy()
    if program.has_t:
        weight = -program.rows[:, -1]
        regret = weight > 0
        t = np.maximum(0.0, np.max(rows[regret] / weight[regret, None], axis=0, initial=0.0))
        rows = rows[~regret]
        value = value + float(program.objective[-1]) * t
    feasible = np.all(rows <= slack, axis=0)
    return np.where(feasible, value, np.inf)
