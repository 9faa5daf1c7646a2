"""Contract invariants: valid data constructs, invalid data names the field."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from impact_contracts import (
    AllocateResult,
    ComponentCatalog,
    ConfigError,
    EvaluateResult,
    MeasureResult,
    OutcomeReport,
)
from pydantic import ValidationError

MEASURE: dict[str, Any] = {
    "initiative_id": "a",
    "model_type": "experiment",
    "effect_estimate": 2.0,
    "ci_lower": 1.0,
    "ci_upper": 3.0,
    "p_value": 0.01,
    "sample_size": 100,
}
EVALUATE: dict[str, Any] = {
    "initiative_id": "a",
    "confidence": 0.8,
    "cost": 10.0,
    "return_best": 3.0,
    "return_median": 2.0,
    "return_worst": 1.0,
    "model_type": "experiment",
    "sample_size": 100,
}
ALLOCATE: dict[str, Any] = {
    "selected_initiatives": ["a", "b"],
    "budget_allocated": {"a": 4.0, "b": 6.0},
    "predicted_returns": {"a": 1.0, "b": 2.0},
    "budget": 10.0,
    "rule": "minimax_regret",
    "solver_status": "Optimal",
}
REPORT: dict[str, Any] = {
    "initiative_id": "a",
    "predicted_return": 2.0,
    "actual_return": 2.5,
    "prediction_error": 0.5,
    "sample_size_pilot": 100,
    "sample_size_scale": 1000,
    "budget_allocated": 4.0,
    "confidence_score": 0.8,
    "model_type": "experiment",
}


def test_valid_contracts_construct() -> None:
    assert MeasureResult(**MEASURE).effect_estimate == 2.0
    assert EvaluateResult(**EVALUATE).confidence == 0.8
    assert AllocateResult(**ALLOCATE).selected_initiatives == ["a", "b"]
    assert OutcomeReport(**REPORT).prediction_error == 0.5


@pytest.mark.parametrize(
    ("model", "base", "change", "field"),
    [
        (MeasureResult, MEASURE, {"effect_estimate": 5.0}, "effect_estimate"),
        (MeasureResult, MEASURE, {"ci_lower": 2.5}, "effect_estimate"),
        (MeasureResult, MEASURE, {"sample_size": 29}, "sample_size"),
        (MeasureResult, MEASURE, {"p_value": 1.5}, "p_value"),
        (MeasureResult, MEASURE, {"model_type": "astrology"}, "model_type"),
        (MeasureResult, MEASURE, {"effect_estimate": math.nan}, "effect_estimate"),
        (MeasureResult, MEASURE, {"surprise": 1}, "surprise"),
        (EvaluateResult, EVALUATE, {"confidence": 1.01}, "confidence"),
        (EvaluateResult, EVALUATE, {"confidence": -0.1}, "confidence"),
        (EvaluateResult, EVALUATE, {"return_worst": 2.5}, "return_median"),
        (EvaluateResult, EVALUATE, {"return_best": 1.5}, "return_median"),
        (EvaluateResult, EVALUATE, {"cost": 0.0}, "cost"),
        (AllocateResult, ALLOCATE, {"budget": 9.0}, "budget_allocated"),
        (AllocateResult, ALLOCATE, {"budget_allocated": {"a": 4.0}}, "budget_allocated"),
        (AllocateResult, ALLOCATE, {"predicted_returns": {"a": 1, "c": 2}}, "predicted_returns"),
        (AllocateResult, ALLOCATE, {"selected_initiatives": ["a", "a"]}, "selected_initiatives"),
        (OutcomeReport, REPORT, {"prediction_error": 0.4}, "prediction_error"),
        (OutcomeReport, REPORT, {"sample_size_scale": 10}, "sample_size_scale"),
    ],
)
def test_invalid_data_is_rejected_naming_the_field(
    model: type, base: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        model(**{**base, **change})
    assert field in str(info.value)


def test_contracts_are_frozen() -> None:
    result = MeasureResult(**MEASURE)
    with pytest.raises(ValidationError):
        result.effect_estimate = 9.0  # type: ignore[misc]


@given(
    lower=st.floats(-1e6, 1e6),
    width_low=st.floats(0, 1e6),
    width_high=st.floats(0, 1e6),
)
def test_effect_inside_any_ordered_interval_is_accepted(
    lower: float, width_low: float, width_high: float
) -> None:
    effect = lower + width_low
    result = MeasureResult(
        **{**MEASURE, "ci_lower": lower, "effect_estimate": effect, "ci_upper": effect + width_high}
    )
    assert result.ci_lower <= result.effect_estimate <= result.ci_upper


@given(predicted=st.floats(-1e6, 1e6), actual=st.floats(-1e6, 1e6))
def test_prediction_error_is_actual_minus_predicted(predicted: float, actual: float) -> None:
    report = OutcomeReport(
        **{
            **REPORT,
            "predicted_return": predicted,
            "actual_return": actual,
            "prediction_error": actual - predicted,
        }
    )
    assert report.prediction_error == actual - predicted


def test_catalog_creates_registered_components_and_names_unknown_ones() -> None:
    catalog = ComponentCatalog("allocate")

    @catalog.register()
    class Greedy:
        def __init__(self, budget_share: float = 1.0) -> None:
            self.budget_share = budget_share

        def execute(self, event: dict[str, Any]) -> dict[str, Any]:
            return event

    assert catalog.names() == ["Greedy"]
    assert catalog.create("Greedy", budget_share=0.5).budget_share == 0.5  # type: ignore[attr-defined]
    with pytest.raises(
        ConfigError, match=r"allocate.component: unknown component 'Nope'; known: Greedy"
    ):
        catalog.create("Nope")
    with pytest.raises(ConfigError, match=r"allocate.component Greedy: .*unexpected keyword"):
        catalog.create("Greedy", colour="red")
