"""The fast path against the plain MILP and brute force; 1,000 initiatives in time."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from impact_allocate import ALLOCATE_COMPONENTS
from impact_allocate.instances import random_candidates
from impact_allocate.problem import build_candidates
from impact_allocate.solve import Portfolio, solve_minimax, solve_weighted
from impact_contracts import EvaluateResult


def assert_same_optimum(fast: Portfolio, plain: Portfolio) -> None:
    """The fast path proves the plain MILP's optimum: same status, optima and selection."""
    assert (fast.status, plain.status) == ("Optimal", "Optimal")
    assert fast.scenario_optima == pytest.approx(plain.scenario_optima, rel=1e-9)
    assert fast.objective == pytest.approx(plain.objective, rel=1e-7, abs=1e-7)
    assert fast.selected == plain.selected


@pytest.mark.parametrize(("n", "seed"), [(50, 1), (50, 2), (50, 3), (200, 4), (200, 5)])
def test_fast_path_matches_plain_milp(n: int, seed: int) -> None:
    candidates = random_candidates(n, seed)
    budget = float(candidates.cost.sum() * 0.3)
    fast = solve_minimax(candidates, budget, None, "fast")
    plain = solve_minimax(candidates, budget, None, "plain")
    assert_same_optimum(fast, plain)


@pytest.mark.parametrize(("n", "seed"), [(50, 6), (200, 7)])
def test_fast_bayesian_matches_plain(n: int, seed: int) -> None:
    candidates = random_candidates(n, seed)
    budget = float(candidates.cost.sum() * 0.25)
    weights = [0.25, 0.5, 0.25]
    fast = solve_weighted(candidates, weights, budget, 0.0, "fast")
    plain = solve_weighted(candidates, weights, budget, 0.0, "plain")
    assert fast.objective == pytest.approx(plain.objective, rel=1e-9)
    assert fast.selected == plain.selected


@pytest.mark.parametrize(
    ("n", "seed", "budget_share", "min_worst", "threshold"),
    [
        (50, 21, 0.1, None, 0.0),  # tight budget
        (50, 22, 0.8, None, 0.0),  # loose budget
        (80, 23, 0.3, 40.0, 0.0),  # minimum worst return
        (120, 24, 0.3, None, 0.5),  # confidence threshold
        (150, 25, 0.2, 60.0, 0.4),  # both
        (300, 26, 0.3, None, 0.0),
    ],
)
def test_fast_matches_plain_on_more_instances(
    n: int, seed: int, budget_share: float, min_worst: float | None, threshold: float
) -> None:
    everything = random_candidates(n, seed)
    candidates = everything.subset(
        [i for i in range(n) if everything_confidence(n, seed)[i] >= threshold]
    )
    budget = float(everything.cost.sum() * budget_share)
    fast = solve_minimax(candidates, budget, min_worst, "fast")
    plain = solve_minimax(candidates, budget, min_worst, "plain")
    assert_same_optimum(fast, plain)
    if min_worst is not None:
        assert float(candidates.worst[list(fast.selected)].sum()) >= min_worst - 1e-9


def everything_confidence(n: int, seed: int) -> list[float]:
    """The confidences drawn by ``random_candidates`` (same stream), in sorted-id order."""
    rng = np.random.default_rng(seed)
    rng.normal(10, 5, n), rng.normal(5, 2, n)
    drawn = {}
    for i in range(n):
        drawn[f"init-{i}"] = float(rng.uniform(0.2, 0.95))
        rng.uniform(1, 10)
    return [drawn[key] for key in sorted(drawn)]


def test_thousand_initiatives_match_plain_in_about_a_second() -> None:
    candidates = random_candidates(1000, 1)
    budget = float(candidates.cost.sum() * 0.3)
    started = time.monotonic()
    portfolio = solve_minimax(candidates, budget, None, "fast", 60.0)
    elapsed = time.monotonic() - started
    assert (portfolio.status, portfolio.mip_gap) == ("Optimal", 0.0)
    # the plain CBC MILP gives 148.489441384028 (bench/allocate_bench.py, seed 1)
    assert portfolio.objective == pytest.approx(148.489441384028, rel=1e-9)
    assert len(portfolio.selected) == 410
    assert elapsed < 10.0
    assert float(candidates.cost[list(portfolio.selected)].sum()) <= budget


item_strategy = st.tuples(
    st.integers(1, 6),  # cost
    st.integers(-5, 10),  # worst
    st.integers(0, 6),  # median - worst
    st.integers(0, 6),  # best - median
    st.sampled_from([0.3, 0.6, 1.0]),  # confidence
)


@settings(max_examples=25, deadline=None)
@given(items=st.lists(item_strategy, min_size=1, max_size=6), budget=st.integers(0, 15))
def test_minimax_matches_brute_force(
    items: list[tuple[int, int, int, int, float]], budget: int
) -> None:
    events = [
        {
            "initiative_id": f"i{k}",
            "confidence": conf,
            "cost": float(cost),
            "return_worst": float(worst),
            "return_median": float(worst + up),
            "return_best": float(worst + up + up2),
            "model_type": "experiment",
            "sample_size": 100,
        }
        for k, (cost, worst, up, up2, conf) in enumerate(items)
    ]
    result = ALLOCATE_COMPONENTS.create("MinimaxRegretAllocate").execute(
        {"budget": budget, "initiatives": events}
    )
    assert sum(result["budget_allocated"].values()) <= budget
    candidates = build_candidates([EvaluateResult(**e) for e in events])
    subsets = [
        list(s)
        for r in range(len(events) + 1)
        for s in itertools.combinations(range(len(events)), r)
        if candidates.cost[list(s)].sum() <= budget
    ]
    values = np.array([candidates.effective[s].sum(axis=0) for s in subsets])
    regrets = (values.max(axis=0) - values).max(axis=1)
    assert regrets.min() >= 0
    if result["solver_status"] == "Optimal":
        assert result["objective"] == pytest.approx(regrets.min(), abs=1e-7)
    else:  # nothing affordable: only the empty portfolio, regret 0
        assert result["selected_initiatives"] == [] and regrets.min() == 0
