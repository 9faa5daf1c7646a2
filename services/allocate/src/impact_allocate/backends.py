"""Solver back ends: the LP relaxation (HiGHS via SciPy) and exact MILPs (CBC via PuLP).

Both take a ``BinaryProgram`` and a set of fixed binaries; only the free binaries reach
the solver, as variables ``x_<index>`` (never initiative ids).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pulp
from scipy.optimize import linprog

from impact_allocate.program import BinaryProgram, FloatArray

#: PuLP status names reported as ``solver_status``.
OPTIMAL = "Optimal"
INFEASIBLE = "Infeasible"
TIME_LIMIT = "TimeLimit"
NOT_SOLVED = "NotSolved"


@dataclass(frozen=True)
class LpRelaxation:
    """Optimum of the LP relaxation with its reduced costs (for the binaries)."""

    feasible: bool
    objective: float
    x: FloatArray
    reduced_costs: FloatArray


@dataclass(frozen=True)
class MilpResult:
    """A MILP outcome: status, the full 0/1 vector ``x`` (fixed + free), objective."""

    status: str
    x: FloatArray | None
    objective: float | None


def solve_lp(program: BinaryProgram, fixed: Mapping[int, int] | None = None) -> LpRelaxation:
    """Solve the LP relaxation (binaries in [0, 1], fixed ones pinned)."""
    bounds = [(0.0, 1.0)] * program.n_binary
    for index, value in (fixed or {}).items():
        bounds[index] = (float(value), float(value))
    if program.has_t:
        bounds.append((0.0, None))  # type: ignore[arg-type]
    result = linprog(
        program.objective, A_ub=program.rows, b_ub=program.rhs, bounds=bounds, method="highs"
    )
    n = program.n_binary
    if result.status != 0:
        empty = np.zeros(n)
        return LpRelaxation(False, math.inf, empty, empty)
    reduced = np.asarray(result.lower.marginals) + np.asarray(result.upper.marginals)
    return LpRelaxation(True, float(result.fun), np.asarray(result.x[:n]), reduced[:n])


def solve_milp(
    program: BinaryProgram,
    fixed: Mapping[int, int],
    time_limit_s: float,
    warm_start: FloatArray | None = None,
    threads: int = 1,
) -> MilpResult:
    """Solve exactly with CBC (relative and absolute gap 0) over the free binaries."""
    free = [i for i in range(program.n_binary) if i not in fixed]
    x_fixed = np.zeros(program.n_binary)
    for index, fixed_value in fixed.items():
        x_fixed[index] = fixed_value
    constant_rows = program.rows[:, : program.n_binary] @ x_fixed
    constant_objective = float(program.objective[: program.n_binary] @ x_fixed)
    if not free:
        value = program.value(x_fixed, tol=1e-9 * program.scale)
        status = OPTIMAL if value is not None else INFEASIBLE
        return MilpResult(status, x_fixed if value is not None else None, value)

    model = pulp.LpProblem("portfolio", pulp.LpMinimize)
    xs = {i: model.add_variable(f"x_{i}", 0, 1, cat=pulp.LpBinary) for i in free}
    t = model.add_variable("t", lowBound=0) if program.has_t else None

    def expression(coefficients: FloatArray, constant: float) -> pulp.LpAffineExpression:
        terms = [(xs[i], float(coefficients[i])) for i in free if coefficients[i] != 0.0]
        if t is not None and coefficients[-1] != 0.0:
            terms.append((t, float(coefficients[-1])))
        return pulp.LpAffineExpression(terms, constant=constant)

    model += expression(program.objective, constant_objective)
    for k, row in enumerate(program.rows):
        model += expression(row, 0.0) <= float(program.rhs[k] - constant_rows[k]), f"r_{k}"
    if warm_start is not None:
        for i in free:
            xs[i].setInitialValue(int(warm_start[i] > 0.5))
    solver = pulp.PULP_CBC_CMD(
        msg=False,
        timeLimit=max(1.0, time_limit_s),
        gapRel=0.0,
        gapAbs=0.0,
        threads=threads,
        warmStart=warm_start is not None,
    )
    started = time.monotonic()
    model.solve(solver)
    return _read(model, program, xs, x_fixed, started, time_limit_s)


def _read(
    model: pulp.LpProblem,
    program: BinaryProgram,
    xs: Mapping[int, pulp.LpVariable],
    x_fixed: FloatArray,
    started: float,
    time_limit_s: float,
) -> MilpResult:
    if model.status == pulp.LpStatusInfeasible:
        return MilpResult(INFEASIBLE, None, None)
    has_solution = model.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if not has_solution:
        timed_out = time.monotonic() - started >= time_limit_s
        return MilpResult(TIME_LIMIT if timed_out else NOT_SOLVED, None, None)
    x = x_fixed.copy()
    for i, variable in xs.items():
        x[i] = 1.0 if (variable.value() or 0.0) > 0.5 else 0.0
    status = OPTIMAL if model.sol_status == pulp.LpSolutionOptimal else TIME_LIMIT
    return MilpResult(status, x, program.value(x, tol=1e-6 * program.scale))
