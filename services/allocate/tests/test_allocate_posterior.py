"""Allocation on posterior returns (decision 0080): no confidence penalty, and the Bayesian
rule maximises the posterior mean by default."""

from __future__ import annotations

from typing import Any

from impact_allocate import ALLOCATE_COMPONENTS


def item(
    initiative_id: str, worst: float, mean: float, best: float, **extra: Any
) -> dict[str, Any]:
    return {
        "initiative_id": initiative_id,
        "confidence": 0.2,
        "cost": 1.0,
        "return_best": best,
        "return_median": mean,
        "return_worst": worst,
        "model_type": "experiment",
        "sample_size": 100,
        **extra,
    }


def chosen(component: str, initiatives: list[dict[str, Any]], **kwargs: Any) -> list[str]:
    allocate = ALLOCATE_COMPONENTS.create(component, **kwargs)
    result = allocate.execute({"budget": 1.0, "initiatives": initiatives})
    return list(result["selected_initiatives"])


def test_the_bayesian_rule_picks_the_higher_posterior_mean() -> None:
    """``b`` has the higher mean, ``a`` the higher 0.25/0.5/0.25 blend of its quantiles."""
    initiatives = [
        item("a", worst=0.0, mean=2.0, best=12.0, estimates="posterior"),
        item("b", worst=2.5, mean=3.0, best=3.5, estimates="posterior"),
    ]
    assert chosen("BayesianAllocate", initiatives) == ["b"]
    blended = {"best": 0.25, "median": 0.5, "worst": 0.25}
    assert chosen("BayesianAllocate", initiatives, scenario_weights=blended) == ["a"]


def test_raw_returns_keep_the_original_weights_and_penalty() -> None:
    """Raw: R_eff = c R_s + (1 - c) R_worst with c = 0.2 favours the higher worst case."""
    initiatives = [item("a", 0.0, 2.0, 12.0), item("b", 2.5, 3.0, 3.5)]
    assert chosen("BayesianAllocate", initiatives) == ["b"]
    posterior = [
        item("a", 0.0, 4.0, 12.0, estimates="posterior"),
        item("b", 2.5, 3.0, 3.5, estimates="posterior"),
    ]
    assert chosen("BayesianAllocate", posterior) == ["a"]
    assert chosen("BayesianAllocate", [{**i, "estimates": "raw"} for i in posterior]) == ["b"]


def test_the_default_rule_is_bayes_on_posteriors_and_minimax_regret_on_raw_returns() -> None:
    """``Allocate``'s ``rule: auto`` (decision 0086): ``a`` has the higher best case, ``b``
    the higher mean; minimax regret takes ``a`` (its regret in the best scenario is smaller
    than ``b``'s), the Bayes rule ``b``."""
    posterior = [
        item("a", worst=-1.0, mean=2.0, best=20.0, estimates="posterior"),
        item("b", worst=2.5, mean=3.0, best=3.5, estimates="posterior"),
    ]
    raw = [{**i, "estimates": "raw", "confidence": 1.0} for i in posterior]
    assert chosen("MinimaxRegretAllocate", posterior) == ["a"]
    assert chosen("Allocate", posterior) == chosen("BayesianAllocate", posterior) == ["b"]
    assert chosen("Allocate", raw) == chosen("MinimaxRegretAllocate", raw)
    allocate = ALLOCATE_COMPONENTS.create("Allocate")
    rules = [
        allocate.execute({"budget": 1.0, "initiatives": items})["rule"]
        for items in (posterior, raw)
    ]
    assert rules == ["bayesian", "minimax_regret"]
    assert ALLOCATE_COMPONENTS.create("Allocate", rule="minimax_regret").execute(
        {"budget": 1.0, "initiatives": posterior}
    )["selected_initiatives"] == ["a"]
