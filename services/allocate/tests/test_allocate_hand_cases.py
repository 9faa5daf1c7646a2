"""Hand-checked portfolios; the arithmetic is written out in docs/allocate.md."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from impact_allocate import ALLOCATE_COMPONENTS


def initiative(
    name: str, cost: float, best: float, median: float, worst: float, confidence: float = 1.0
) -> dict[str, Any]:
    return {
        "initiative_id": name,
        "confidence": confidence,
        "cost": cost,
        "return_best": best,
        "return_median": median,
        "return_worst": worst,
        "model_type": "experiment",
        "sample_size": 100,
    }


RISKY_VS_SAFE = [
    initiative("A", 10, 30, 20, -10),
    initiative("B", 5, 8, 7, 6),
    initiative("C", 5, 9, 6, 4),
]


def allocate(name: str, budget: float, items: list[dict[str, Any]], **kwargs: Any) -> dict:
    return ALLOCATE_COMPONENTS.create(name, **kwargs).execute(
        {"budget": budget, "initiatives": items}
    )


def test_minimax_prefers_safe_pair_over_max_median() -> None:
    # V* = (30, 20, 10); regret {A} = 20, {B, C} = max(13, 7, 0) = 13
    result = allocate("MinimaxRegretAllocate", 10, RISKY_VS_SAFE)
    assert result == {
        "selected_initiatives": ["B", "C"],
        "budget_allocated": {"B": 5.0, "C": 5.0},
        "predicted_returns": {"B": 7.0, "C": 6.0},
        "budget": 10.0,
        "rule": "minimax_regret",
        "solver_status": "Optimal",
        "objective": pytest.approx(13.0, abs=1e-9),
        "mip_gap": 0.0,
        "reason": None,
    }


def test_bayesian_picks_the_max_expected_portfolio() -> None:
    # weighted 0.25/0.5/0.25: {A} = 7.5 + 10 - 2.5 = 15 > {B, C} = 4.25 + 6.5 + 2.5 = 13.25
    result = allocate("BayesianAllocate", 10, RISKY_VS_SAFE)
    assert result["selected_initiatives"] == ["A"]
    assert result["objective"] == pytest.approx(15.0, abs=1e-9)
    assert (result["rule"], result["solver_status"], result["mip_gap"]) == (
        "bayesian",
        "Optimal",
        0.0,
    )


def test_confidence_penalty_flips_the_bayesian_choice() -> None:
    # c_A = 0.5: R_eff_A = 0.5 R_s + 0.5 (-10) = (10, 5, -10) -> weighted 2.5 < 13.25
    items = [initiative("A", 10, 30, 20, -10, confidence=0.5), *RISKY_VS_SAFE[1:]]
    result = allocate("Allocate", 10, items, rule="bayesian")
    assert result["selected_initiatives"] == ["B", "C"]
    assert result["objective"] == pytest.approx(13.25, abs=1e-9)


def test_min_worst_return_changes_the_scenario_optima() -> None:
    # worst >= 5 leaves {B} and {B, C}: V* = (17, 13, 10), {B, C} has regret 0
    result = allocate("MinimaxRegretAllocate", 10, RISKY_VS_SAFE, min_portfolio_worst_return=5)
    assert result["selected_initiatives"] == ["B", "C"]
    assert result["objective"] == pytest.approx(0.0, abs=1e-9)


BASELINE_CASE = [
    initiative("p", 1, 7, 0, -3),
    initiative("q", 3, 6, -1, -2),
    initiative("r", 3, 18, 10, 5),
    initiative("s", 3, 3, -2, -4),
]


@pytest.mark.parametrize("solver", ["fast", "plain"])
@pytest.mark.parametrize(
    ("baseline", "chosen", "regret"),
    [("constrained", ["q", "r"], 2.0), ("budget_only", ["p", "r"], 6.0)],
)
def test_regret_baseline(baseline: str, chosen: list[str], regret: float, solver: str) -> None:
    # budget 8, worst >= 2 leaves {r} (18, 10, 5), {p, r} (25, 10, 2), {q, r} (24, 9, 3).
    # constrained V* = (25, 10, 5): regrets 7, 3, 2 -> {q, r};
    # budget-only V* = (31, 10, 5) ({p, q, r} has best 31): regrets 13, 6, 7 -> {p, r}
    result = allocate(
        "MinimaxRegretAllocate",
        8,
        BASELINE_CASE,
        min_portfolio_worst_return=2,
        regret_baseline=baseline,
        solver=solver,
    )
    assert result["selected_initiatives"] == chosen
    assert result["objective"] == pytest.approx(regret, abs=1e-9)


def test_tie_on_regret_broken_by_higher_median() -> None:
    # V* = (10, 6, 3); regret u = max(0, 1, 3) = 3, w = max(2, 0, 3) = 3, v = 10
    items = [
        initiative("u", 1, 10, 5, 0),
        initiative("v", 1, 3, 3, 3),
        initiative("w", 1, 8, 6, 0),
    ]
    result = allocate("MinimaxRegretAllocate", 1, items)
    assert result["selected_initiatives"] == ["w"]
    assert result["objective"] == pytest.approx(3.0, abs=1e-9)


def test_tie_on_regret_and_median_broken_by_lower_cost() -> None:
    items = [initiative("p", 3, 4, 4, 4), initiative("q", 2, 4, 4, 4)]
    result = allocate("MinimaxRegretAllocate", 3, items)
    assert result["selected_initiatives"] == ["q"]
    assert result["budget_allocated"] == {"q": 2.0}


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_full_tie_broken_by_smallest_id_under_any_input_order(order: tuple[int, ...]) -> None:
    # {m} and {a, z}: regret 0, median 4, cost 2 each; smallest differing id is "a"
    items = [initiative("m", 2, 4, 4, 4), initiative("a", 1, 2, 2, 2), initiative("z", 1, 2, 2, 2)]
    result = allocate("MinimaxRegretAllocate", 2, [items[i] for i in order])
    assert result["selected_initiatives"] == ["a", "z"]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_duplicates_resolved_by_id_for_bayesian(order: tuple[int, ...]) -> None:
    items = [initiative(n, 1, 5, 4, 3) for n in ("beta", "alpha", "gamma")]
    result = allocate("BayesianAllocate", 2, [items[i] for i in order])
    assert result["selected_initiatives"] == ["alpha", "beta"]
    assert result["objective"] == pytest.approx(8.0, abs=1e-9)


def test_ids_with_spaces_dashes_and_unicode() -> None:
    names = ["growth plan ü 🚀", "a-b c", "x_0"]
    items = [
        initiative(n, c, r + 1, r, r - 1)
        for n, c, r in zip(names, (2, 2, 3), (5, 4, 6), strict=True)
    ]
    result = allocate("MinimaxRegretAllocate", 4, items)
    # pairs within budget 4: only {growth, a-b c} (cost 4) -> V* = (11, 9, 7), regret 0
    assert result["selected_initiatives"] == ["a-b c", "growth plan ü 🚀"]
    assert result["predicted_returns"] == {"a-b c": 4.0, "growth plan ü 🚀": 5.0}
