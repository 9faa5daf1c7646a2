"""Confidence scoring: hand-checked values, ranges, monotonicity and determinism."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from impact_contracts import MODEL_TYPES, ConfigError
from impact_evaluate import DEFAULT_DESIGN_RANGES, EVALUATE_COMPONENTS, Evaluate


def event(
    model_type: str = "experiment",
    effect: float = 10.0,
    ci: tuple[float, float] = (8.0, 12.0),
    p_value: float | None = 0.01,
    sample_size: int = 500,
    cost: float = 3.0,
) -> dict[str, Any]:
    return {
        "initiative_id": "init-1",
        "cost_to_scale": cost,
        "measure": {
            "initiative_id": "init-1",
            "model_type": model_type,
            "effect_estimate": effect,
            "ci_lower": ci[0],
            "ci_upper": ci[1],
            "p_value": p_value,
            "sample_size": sample_size,
        },
    }


def confidence(**kwargs: Any) -> float:
    return float(Evaluate().execute(event(**kwargs))["confidence"])


def test_experiment_hand_checked() -> None:
    # precision 1/(1 + 0.4/2) = 5/6, size 500/1000 = 0.5, significance 0.99
    # evidence = 0.5*5/6 + 0.3*0.5 + 0.2*0.99 = 0.7646667; 0.80 + 0.15*evidence
    result = Evaluate().execute(event())
    assert result == {
        "initiative_id": "init-1",
        "confidence": pytest.approx(0.80 + 0.15 * (0.5 * 5 / 6 + 0.15 + 0.198), abs=1e-12),
        "cost": 3.0,
        "return_best": 12.0,
        "return_median": 10.0,
        "return_worst": 8.0,
        "model_type": "experiment",
        "sample_size": 500,
        "estimates": "raw",
        "probability_positive": None,
        "prediction_lower": None,
        "prediction_upper": None,
        "prediction_sd": None,
    }
    assert result["confidence"] == pytest.approx(0.9147, abs=1e-12)


def test_metrics_approximation_without_p_value_hand_checked() -> None:
    # precision 1/(1 + 2/2) = 0.5, size 1500/2000 = 0.75, no p: weights 0.5, 0.3 renormalised
    # evidence = (0.25 + 0.225) / 0.8 = 0.59375; 0.20 + 0.20 * 0.59375 = 0.31875
    value = confidence(
        model_type="metrics_approximation",
        effect=5.0,
        ci=(0.0, 10.0),
        p_value=None,
        sample_size=1500,
    )
    assert value == pytest.approx(0.31875, abs=1e-12)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize(
    ("effect", "ci", "p_value", "n"),
    [(1.0, (-50.0, 60.0), 0.99, 30), (1.0, (1.0, 1.0), 0.0, 10**9), (0.0, (-1.0, 1.0), None, 30)],
)
def test_each_model_stays_in_its_range(
    model_type: str, effect: float, ci: tuple[float, float], p_value: float | None, n: int
) -> None:
    low, high = DEFAULT_DESIGN_RANGES[model_type]
    value = confidence(model_type=model_type, effect=effect, ci=ci, p_value=p_value, sample_size=n)
    assert low <= value <= high


def test_design_strength_order() -> None:
    order = [
        "experiment",
        "synthetic_control",
        "interrupted_time_series",
        "metrics_approximation",
    ]
    values = [confidence(model_type=m) for m in order]
    assert values == sorted(values, reverse=True)
    assert len(set(values)) == 4


@given(
    half_width=st.floats(0.01, 100.0),
    extra=st.floats(0.01, 100.0),
    n=st.integers(30, 10**6),
    model_type=st.sampled_from(MODEL_TYPES),
)
def test_narrower_ci_scores_higher(
    half_width: float, extra: float, n: int, model_type: str
) -> None:
    narrow = confidence(model_type=model_type, ci=(10 - half_width, 10 + half_width), sample_size=n)
    wide = confidence(
        model_type=model_type, ci=(10 - half_width - extra, 10 + half_width + extra), sample_size=n
    )
    assert narrow > wide


@given(
    n=st.integers(30, 10**6), more=st.integers(1, 10**6), model_type=st.sampled_from(MODEL_TYPES)
)
def test_larger_sample_scores_higher(n: int, more: int, model_type: str) -> None:
    assert confidence(model_type=model_type, sample_size=n + more) > confidence(
        model_type=model_type, sample_size=n
    )


def test_smaller_p_value_scores_higher() -> None:
    assert confidence(p_value=0.01) > confidence(p_value=0.2) > confidence(p_value=0.9)


def test_deterministic_across_processes() -> None:
    code = (
        "from impact_evaluate import Evaluate; import json, sys; "
        "e = json.loads(sys.argv[1]); print(repr(Evaluate().execute(e)['confidence']))"
    )
    import json

    payload = json.dumps(event(model_type="synthetic_control", p_value=0.03, sample_size=777))
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code, payload], check=True, capture_output=True, text=True
        ).stdout
        for _ in range(2)
    }
    local = repr(confidence(model_type="synthetic_control", p_value=0.03, sample_size=777))
    assert outputs == {local + "\n"}


def test_ranges_overridable_by_kwargs() -> None:
    component = EVALUATE_COMPONENTS.create("Evaluate", design_ranges={"experiment": [0.5, 0.5]})
    assert component.execute(event())["confidence"] == 0.5


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"design_ranges": {"astrology": [0.1, 0.2]}}, "design_ranges.astrology"),
        ({"design_ranges": {"experiment": [0.9, 0.1]}}, "design_ranges.experiment"),
        ({"sample_size_half": 0}, "sample_size_half"),
        ({"weight_size": -1.0}, "weight_"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_kwargs_raise_config_error(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        EVALUATE_COMPONENTS.create("Evaluate", **kwargs)


def test_mock_evaluate_uses_fixed_confidence() -> None:
    result = EVALUATE_COMPONENTS.create("MockEvaluate", confidence=0.42).execute(event())
    assert (result["confidence"], result["return_worst"], result["cost"]) == (0.42, 8.0, 3.0)


def test_size_counts_independent_units_not_panel_rows() -> None:
    from impact_contracts import MeasureResult
    from impact_evaluate.scoring import effective_size

    base = {
        "initiative_id": "a",
        "effect_estimate": 5.0,
        "ci_lower": 1.0,
        "ci_upper": 9.0,
    }
    series = MeasureResult(
        **base, model_type="interrupted_time_series", sample_size=182_000, n_pre=60, n_post=31
    )
    panel = MeasureResult(
        **base,
        model_type="synthetic_control",
        sample_size=36_400,
        n_treated=1,
        n_control=19,
        n_pre=60,
        n_post=31,
    )
    cross = MeasureResult(**base, model_type="experiment", sample_size=300)
    assert effective_size(series) == 91
    assert effective_size(panel) == 20
    assert effective_size(cross) == 300
