"""Solve pipelines: minimax regret and weighted scenarios, each exact then tie-broken."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from impact_allocate.backends import INFEASIBLE, OPTIMAL
from impact_allocate.deadline import Deadline
from impact_allocate.fast import Solved, solve_fast, solve_plain
from impact_allocate.models import knapsack, minimax_regret
from impact_allocate.problem import SCENARIOS, Candidates
from impact_allocate.program import BinaryProgram, FloatArray
from impact_allocate.tiebreak import break_ties

Method = Literal["fast", "plain"]


@dataclass(frozen=True)
class Portfolio:
    """Solver outcome over candidate indices (not ids)."""

    status: str
    selected: tuple[int, ...] = ()
    objective: float | None = None
    mip_gap: float | None = None
    reason: str | None = None
    scenario_optima: tuple[float, ...] = ()


def run(
    program: BinaryProgram,
    method: Method,
    deadline: Deadline,
    candidates: Candidates,
    starts: Sequence[FloatArray] = (),
) -> Solved:
    if method == "plain":
        return solve_plain(program, deadline.left())
    prefer = (candidates.median, candidates.cost)
    return solve_fast(program, deadline.left(), starts, prefer=prefer)


def scenario_optima(
    candidates: Candidates,
    budget: float,
    min_worst: float | None,
    method: Method,
    deadline: Deadline,
) -> tuple[list[Solved], Portfolio | None]:
    """``V*_s`` for each scenario, or a failed ``Portfolio`` explaining why not."""
    solved = []
    for s, name in enumerate(SCENARIOS):
        program = knapsack(candidates, candidates.effective[:, s], budget, min_worst)
        result = run(program, method, deadline, candidates)
        if result.result.status == INFEASIBLE:
            return [], Portfolio(INFEASIBLE, reason=_infeasible_reason(budget, min_worst))
        if result.result.status != OPTIMAL or result.result.objective is None:
            reason = f"scenario optimum V*_{name} not proven within the time limit"
            return [], Portfolio(result.result.status, reason=reason)
        solved.append(result)
    return solved, None


def solve_minimax(
    candidates: Candidates,
    budget: float,
    min_worst: float | None,
    method: Method = "fast",
    time_limit_s: float = 60.0,
) -> Portfolio:
    """Minimise the maximum regret over the best/median/worst scenarios."""
    deadline = Deadline(time_limit_s)
    knapsacks, failure = scenario_optima(candidates, budget, min_worst, method, deadline)
    if failure is not None:
        return failure
    optima = np.array([-float(k.result.objective or 0.0) for k in knapsacks])
    program = minimax_regret(candidates, optima, budget, min_worst)
    starts = [k.result.x for k in knapsacks if k.result.x is not None]
    return _finish(
        program, run(program, method, deadline, candidates, starts), candidates, deadline, optima
    )


def solve_weighted(
    candidates: Candidates,
    weights: Sequence[float],
    budget: float,
    min_worst: float | None,
    method: Method = "fast",
    time_limit_s: float = 60.0,
) -> Portfolio:
    """Maximise the scenario-weighted effective return ``Σ_s w_s Σ_i R_eff_i,s x_i``."""
    deadline = Deadline(time_limit_s)
    values = candidates.effective @ np.asarray(weights, dtype=float)
    program = knapsack(candidates, values, budget, min_worst)
    solved = run(program, method, deadline, candidates)
    if solved.result.status == INFEASIBLE:
        return Portfolio(INFEASIBLE, reason=_infeasible_reason(budget, min_worst))
    portfolio = _finish(program, solved, candidates, deadline, np.array([]))
    objective = None if portfolio.objective is None else -portfolio.objective
    return Portfolio(
        portfolio.status, portfolio.selected, objective, portfolio.mip_gap, portfolio.reason
    )


def _finish(
    program: BinaryProgram,
    solved: Solved,
    candidates: Candidates,
    deadline: Deadline,
    optima: FloatArray,
) -> Portfolio:
    result = solved.result
    if result.x is None or result.objective is None:
        if result.status == INFEASIBLE:
            return Portfolio(INFEASIBLE, reason="the model is infeasible")
        return Portfolio(result.status, reason="no integer solution within the time limit")
    x = result.x
    gap: float | None = 0.0
    if result.status == OPTIMAL:
        if not solved.tie_broken:
            x = break_ties(
                program,
                x,
                result.objective,
                solved.fixed,
                candidates.median,
                candidates.cost,
                deadline,
            )
    elif solved.lp_bound is not None:
        gap = abs(result.objective - solved.lp_bound) / max(1e-9, abs(result.objective))
    else:
        gap = None
    return Portfolio(
        result.status,
        tuple(int(i) for i in np.flatnonzero(x > 0.5)),
        result.objective,
        gap,
        None,
        tuple(float(v) for v in optima),
    )


def _infeasible_reason(budget: float, min_worst: float | None) -> str:
    return (
        f"no portfolio within budget {budget:g} reaches min_portfolio_worst_return {min_worst:g}"
        if min_worst is not None
        else f"no portfolio fits budget {budget:g}"
    )
