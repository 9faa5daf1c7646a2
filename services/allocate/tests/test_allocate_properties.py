"""The fast path against the plain full MILP on 200 small random instances.

Eight families (the benchmark's, at small sizes, plus one with only a few distinct
initiatives, so duplicates and exact ties abound), random budgets from 1 % to 99 %,
negative worst returns, minimum-worst-return constraints (some infeasible), both regret
baselines and the Bayesian rule. Every other instance runs with ``CHUNK = 11`` and
``LEFT_BLOCK = 3``, so chunk and block boundaries of the join are crossed. Asserted:
same status, objective within 1e-9 (relative), same scenario optima, and a valid
portfolio whose regret, recomputed from scratch, is that objective.
"""

from __future__ import annotations

import numpy as np
import pytest
from impact_allocate import join, meet
from impact_allocate.backends import INFEASIBLE, OPTIMAL
from impact_allocate.deadline import Deadline
from impact_allocate.fast import solve_plain
from impact_allocate.instances import FAMILIES, Instance, cents, instance
from impact_allocate.models import knapsack, minimax_regret
from impact_allocate.problem import Candidates
from impact_allocate.solve import Baseline, solve_minimax, solve_weighted

WEIGHTS = [0.25, 0.5, 0.25]


def few_kinds(n: int, seed: int) -> Instance:
    """2 to 5 distinct small-integer initiatives, repeated: duplicates and exact ties."""
    rng = np.random.default_rng([seed, 9])
    kinds = int(rng.integers(2, 6))
    cost = rng.integers(1, 6, kinds).astype(float)
    median = rng.integers(-2, 8, kinds).astype(float)
    worst = median - rng.integers(0, 5, kinds).astype(float)
    best = median + rng.integers(0, 5, kinds).astype(float)
    confidence = rng.choice([0.5, 1.0], kinds)
    kind = np.sort(rng.integers(0, kinds, n))
    share = float(rng.uniform(0.1, 0.9))
    return instance(cost[kind], best[kind], median[kind], worst[kind], confidence[kind], share)


def any_budget(n: int, seed: int) -> Instance:
    """``cents`` with a budget from 1 % to 99 % of the total cost."""
    return cents(n, seed, share=float(np.random.default_rng([seed, 8]).uniform(0.01, 0.99)))


GENERATORS = {
    "cents": FAMILIES["cents"],
    "ties": FAMILIES["ties"],
    "heavy": FAMILIES["heavy"],
    "clustered": FAMILIES["clustered"],
    "dominant": FAMILIES["dominant"],
    "loose": FAMILIES["loose"],
    "few_kinds": few_kinds,
    "any_budget": any_budget,
}
CASES = [(family, seed) for family in GENERATORS for seed in range(25)]


def plain_reference(
    candidates: Candidates, budget: float, min_worst: float | None, baseline: Baseline
) -> tuple[str, float | None, list[float]]:
    """Status, objective and ``V*_s`` of the plain MILPs (CBC, gap 0, no tie-breaking)."""
    deadline = Deadline(60)
    scenario_min_worst = min_worst if baseline == "constrained" else None
    optima = []
    for s in range(3):
        program = knapsack(candidates, candidates.effective[:, s], budget, scenario_min_worst)
        result = solve_plain(program, deadline).result
        if result.status == INFEASIBLE:
            return INFEASIBLE, None, []
        assert result.status == OPTIMAL and result.objective is not None
        optima.append(-result.objective)
    program = minimax_regret(candidates, np.array(optima), budget, min_worst)
    minimax = solve_plain(program, deadline).result
    return minimax.status, minimax.objective, optima


def draw(family: str, seed: int) -> tuple[Candidates, float, float | None, Baseline, bool]:
    rng = np.random.default_rng([seed, 77, len(family)])
    made = GENERATORS[family](int(rng.integers(3, 36)), seed)
    affordable = [j for j in range(made.candidates.size) if made.candidates.cost[j] <= made.budget]
    candidates = made.candidates.subset(affordable or [0])
    budget = made.budget if affordable else float(made.candidates.cost[0])
    min_worst = None
    if rng.random() < 0.35:  # sometimes binding, sometimes infeasible
        min_worst = round(float(rng.uniform(-0.3, 0.6) * np.abs(candidates.worst).sum()), 2)
    baseline: Baseline = "budget_only" if rng.random() < 0.3 else "constrained"
    return candidates, budget, min_worst, baseline, bool(rng.random() < 0.12)


def assert_valid(
    candidates: Candidates, selected: tuple[int, ...], budget: float, min_worst: float | None
) -> None:
    chosen = list(selected)
    assert float(candidates.cost[chosen].sum()) <= budget + 1e-9 * (1.0 + budget)
    if min_worst is not None:
        assert float(candidates.worst[chosen].sum()) >= min_worst - 1e-9 * (1.0 + abs(min_worst))


def close(a: float | None, b: float | None) -> bool:
    assert a is not None and b is not None
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


@pytest.mark.parametrize(("family", "seed"), CASES)
def test_fast_path_equals_plain_milp(family: str, seed: int, monkeypatch) -> None:
    if seed % 2:
        monkeypatch.setattr(meet, "CHUNK", 11)
        monkeypatch.setattr(join, "LEFT_BLOCK", 3)
    candidates, budget, min_worst, baseline, bayesian = draw(family, seed)
    if bayesian:
        fast = solve_weighted(candidates, WEIGHTS, budget, min_worst, "fast")
        plain = solve_weighted(candidates, WEIGHTS, budget, min_worst, "plain")
        assert fast.status == plain.status
        if plain.status == OPTIMAL:
            assert close(fast.objective, plain.objective)
            assert_valid(candidates, fast.selected, budget, min_worst)
            value = candidates.effective[list(fast.selected)].sum(axis=0) @ WEIGHTS
            assert close(float(value), plain.objective)
        return
    fast = solve_minimax(candidates, budget, min_worst, "fast", baseline=baseline)
    status, objective, optima = plain_reference(candidates, budget, min_worst, baseline)
    assert fast.status == status
    if status != OPTIMAL:
        assert fast.selected == ()
        return
    assert close(fast.objective, objective)
    assert all(close(a, b) for a, b in zip(fast.scenario_optima, optima, strict=True))
    assert_valid(candidates, fast.selected, budget, min_worst)
    totals = candidates.effective[list(fast.selected)].sum(axis=0)
    assert close(max(0.0, float(np.max(np.array(optima) - totals))), objective)
