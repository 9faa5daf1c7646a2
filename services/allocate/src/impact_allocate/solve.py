"""Solve pipelines: minimax regret and weighted scenarios, each exact then tie-broken,
all under one deadline (``time_limit_s`` bounds the whole call, CBC children included).

At the deadline the best portfolio found is returned with status ``TimeLimit``, its
objective and its proven relative gap ``(objective - bound) / |objective|``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from impact_allocate.backends import INFEASIBLE, OPTIMAL, TIME_LIMIT
from impact_allocate.deadline import Deadline
from impact_allocate.fast import Solved, solve_fast, solve_plain
from impact_allocate.models import knapsack, minimax_regret
from impact_allocate.problem import SCENARIOS, Candidates
from impact_allocate.program import BinaryProgram, FloatArray
from impact_allocate.tiebreak import break_ties

Method = Literal["fast", "plain"]
#: What each scenario optimum ``V*_s`` is taken over: portfolios meeting every constraint
#: (``constrained``, the default), or the budget alone (``budget_only``, as the original).
Baseline = Literal["constrained", "budget_only"]
#: Share of the time left that each scenario knapsack may use.
SCENARIO_SHARE = 0.2


@dataclass(frozen=True)
class Portfolio:
    """Solver outcome over candidate indices (not ids)."""

    status: str
    selected: tuple[int, ...] = ()
    objective: float | None = None
    mip_gap: float | None = None
    reason: str | None = None
    scenario_optima: tuple[float, ...] = ()


@dataclass(frozen=True)
class _Optima:
    """Scenario optima: the best values found (``low``) and proven upper bounds (``high``)."""

    low: FloatArray
    high: FloatArray
    starts: list[FloatArray]


def run(
    program: BinaryProgram,
    method: Method,
    deadline: Deadline,
    candidates: Candidates,
    starts: Sequence[FloatArray] = (),
    ties: bool = True,
) -> Solved:
    """Solve ``program``; ``ties=False`` needs only the optimal value (any optimum)."""
    if method == "plain":
        return solve_plain(program, deadline)
    prefer = (candidates.median, candidates.cost) if ties else None
    return solve_fast(program, deadline, starts, prefer)


def scenario_optima(
    candidates: Candidates,
    budget: float,
    min_worst: float | None,
    method: Method,
    deadline: Deadline,
) -> tuple[_Optima | None, Portfolio | None]:
    """``V*_s`` for each scenario (or bounds on it), or a failed ``Portfolio``."""
    low, high, starts = [], [], []
    for s, name in enumerate(SCENARIOS):
        program = knapsack(candidates, candidates.effective[:, s], budget, min_worst)
        solved = run(program, method, deadline.share(SCENARIO_SHARE), candidates, ties=False)
        result = solved.result
        if result.status == INFEASIBLE:
            return None, Portfolio(INFEASIBLE, reason=_infeasible_reason(budget, min_worst))
        if result.x is None or result.objective is None:
            reason = f"scenario optimum V*_{name} not found within the time limit"
            return None, Portfolio(TIME_LIMIT, reason=reason)
        low.append(-result.objective)
        proven = result.status == OPTIMAL
        high.append(-result.objective if proven else -(solved.bound or -np.inf))
        starts.append(result.x)
    return _Optima(np.array(low), np.array(high), starts), None


def solve_minimax(
    candidates: Candidates,
    budget: float,
    min_worst: float | None,
    method: Method = "fast",
    time_limit_s: float = 60.0,
    baseline: Baseline = "constrained",
    deadline: Deadline | None = None,
) -> Portfolio:
    """Minimise the maximum regret over the best/median/worst scenarios (by ``deadline``,
    else within ``time_limit_s`` from now)."""
    deadline = deadline or Deadline(time_limit_s)
    scenario_min_worst = min_worst if baseline == "constrained" else None
    optima, failure = scenario_optima(candidates, budget, scenario_min_worst, method, deadline)
    if failure is not None or optima is None:
        return failure or Portfolio(TIME_LIMIT)
    program = minimax_regret(candidates, optima.low, budget, min_worst)
    solved = run(program, method, deadline, candidates, optima.starts)
    portfolio = _finish(program, solved, candidates, deadline, optima.low, budget, min_worst)
    if portfolio.status != TIME_LIMIT or np.array_equal(optima.low, optima.high):
        return portfolio
    return _unproven_optima(portfolio, candidates, optima, solved)


def _unproven_optima(
    portfolio: Portfolio, candidates: Candidates, optima: _Optima, solved: Solved
) -> Portfolio:
    """A regret measured against unproven ``V*_s``: widen the gap to their upper bounds."""
    selected = list(portfolio.selected)
    worst_case = float(np.max(optima.high - candidates.effective[selected].sum(axis=0)))
    lower = max(0.0, solved.bound if solved.bound is not None else 0.0)
    gap = _gap(worst_case, lower)
    return Portfolio(
        portfolio.status,
        portfolio.selected,
        portfolio.objective,
        gap,
        portfolio.reason,
        portfolio.scenario_optima,
    )


def solve_weighted(
    candidates: Candidates,
    weights: Sequence[float],
    budget: float,
    min_worst: float | None,
    method: Method = "fast",
    time_limit_s: float = 60.0,
    deadline: Deadline | None = None,
) -> Portfolio:
    """Maximise the scenario-weighted effective return ``Σ_s w_s Σ_i R_eff_i,s x_i``."""
    deadline = deadline or Deadline(time_limit_s)
    values = candidates.effective @ np.asarray(weights, dtype=float)
    program = knapsack(candidates, values, budget, min_worst)
    solved = run(program, method, deadline, candidates)
    portfolio = _finish(program, solved, candidates, deadline, np.array([]), budget, min_worst)
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
    budget: float,
    min_worst: float | None,
) -> Portfolio:
    result = solved.result
    if result.x is None or result.objective is None:
        if result.status == INFEASIBLE:
            return Portfolio(INFEASIBLE, reason=_infeasible_reason(budget, min_worst))
        return Portfolio(result.status, reason="no portfolio found within the time limit")
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
    elif solved.bound is not None:
        floor = 0.0 if program.has_t else -np.inf  # the regret is never negative
        gap = _gap(result.objective, max(solved.bound, floor))
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


def _gap(objective: float, bound: float) -> float:
    """Relative gap of a minimisation: ``(objective - bound) / |objective|`` (0 if closed)."""
    return max(0.0, objective - bound) / max(abs(objective), 1e-9)


def _infeasible_reason(budget: float, min_worst: float | None) -> str:
    return (
        f"no portfolio within budget {budget:g} reaches min_portfolio_worst_return {min_worst:g}"
        if min_worst is not None
        else f"no portfolio fits budget {budget:g}"
    )
