"""Empty and infeasible inputs end in an empty allocation with a status and a reason."""

from __future__ import annotations

from typing import Any

import pytest
from impact_allocate import ALLOCATE_COMPONENTS
from impact_contracts import ConfigError, ContractViolation


def initiative(name: str, cost: float, confidence: float = 0.9) -> dict[str, Any]:
    return {
        "initiative_id": name,
        "confidence": confidence,
        "cost": cost,
        "return_best": 9.0,
        "return_median": 6.0,
        "return_worst": 2.0,
        "model_type": "experiment",
        "sample_size": 100,
    }


NAMES = ["MinimaxRegretAllocate", "BayesianAllocate"]


def run(name: str, budget: float, items: list[dict[str, Any]], **kwargs: Any) -> dict:
    return ALLOCATE_COMPONENTS.create(name, **kwargs).execute(
        {"budget": budget, "initiatives": items}
    )


def assert_empty(result: dict[str, Any], status: str, reason: str) -> None:
    assert result["selected_initiatives"] == []
    assert result["budget_allocated"] == {} and result["predicted_returns"] == {}
    assert result["solver_status"] == status
    assert result["reason"] == reason


@pytest.mark.parametrize("name", NAMES)
def test_budget_too_small(name: str) -> None:
    result = run(name, 2.5, [initiative("a", 3.0), initiative("b", 4.0)])
    assert_empty(result, "NoCandidates", "budget 2.5 is below the cheapest eligible cost 3")


@pytest.mark.parametrize("name", NAMES)
def test_all_below_confidence_threshold(name: str) -> None:
    items = [initiative("a", 1.0, 0.3), initiative("b", 1.0, 0.5)]
    result = run(name, 10, items, min_confidence_threshold=0.6)
    assert_empty(
        result, "NoCandidates", "no initiative reaches min_confidence_threshold 0.6 (2 below it)"
    )


@pytest.mark.parametrize("name", NAMES)
def test_no_initiatives(name: str) -> None:
    assert_empty(run(name, 10, []), "NoCandidates", "no initiatives to allocate")


@pytest.mark.parametrize("name", NAMES)
def test_infeasible_min_worst_return(name: str) -> None:
    # at most two fit (cost 2 each, budget 5): worst return at most 2 + 2 = 4 < 4.5
    items = [initiative(n, 2.0) for n in "abc"]
    result = run(name, 5, items, min_portfolio_worst_return=4.5)
    assert_empty(
        result,
        "Infeasible",
        "no portfolio within budget 5 reaches min_portfolio_worst_return 4.5",
    )


def test_threshold_excludes_low_confidence_only() -> None:
    items = [initiative("low", 1.0, 0.4), initiative("high", 1.0, 0.8)]
    result = run("MinimaxRegretAllocate", 5, items, min_confidence_threshold=0.5)
    assert result["selected_initiatives"] == ["high"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"min_confidence_threshold": 1.5}, "min_confidence_threshold"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"scenario_weights": {"best": 1.0}}, "scenario_weights"),
        ({"solver": "gurobi"}, "solver"),
        ({"colour": "red"}, "colour"),
        ({"regret_baseline": "hindsight"}, "regret_baseline"),
    ],
)
def test_bad_kwargs(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        ALLOCATE_COMPONENTS.create("MinimaxRegretAllocate", **kwargs)


def test_bad_rule() -> None:
    with pytest.raises(ConfigError, match="rule"):
        ALLOCATE_COMPONENTS.create("Allocate", rule="coin_flip")


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ({"budget": -1, "initiatives": []}, "budget"),
        ({"budget": 1, "initiatives": [initiative("a", 0.0)]}, r"initiatives\.0\.cost"),
        ({"budget": 1, "initiatives": [initiative("a", 1), initiative("a", 2)]}, "duplicate"),
        ({"initiatives": []}, "budget"),
    ],
)
def test_contract_violations_name_the_field(event: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ContractViolation, match=fragment):
        ALLOCATE_COMPONENTS.create("MinimaxRegretAllocate").execute(event)


def test_mock_allocate_greedy_by_ratio() -> None:
    items = [initiative("a", 3.0), initiative("b", 1.0), initiative("c", 2.0)]
    result = ALLOCATE_COMPONENTS.create("MockAllocate").execute({"budget": 3, "initiatives": items})
    # ratios 2, 6, 3 -> b then c (cost 3), a no longer fits
    assert result["selected_initiatives"] == ["b", "c"]
    assert result["solver_status"] == "Heuristic"
