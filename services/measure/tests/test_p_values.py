"""p-values are never exactly 0.0 from float underflow."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from impact_measure.models.experiment import Experiment, ExperimentParams
from impact_measure.models.its import InterruptedTimeSeries, ITSParams
from impact_measure.models.matching import MatchingParams, NearestNeighbourMatching
from impact_measure.models.subclassification import Subclassification, SubclassificationParams

FLOOR = float(np.finfo(float).tiny)
HUGE = 1e6


def cross_section(seed: int = 0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    treated = (rng.random(n) < 0.4).astype(int)
    return pd.DataFrame({"y": HUGE * treated + x + rng.normal(size=n), "t": treated, "x": x})


def daily_series(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=120, freq="D")
    step = (dates >= "2024-03-15").astype(float)
    return pd.DataFrame({"date": dates, "y": 100 + HUGE * step + rng.normal(size=120)})


CASES: dict[str, tuple[Any, Any, Any]] = {
    "experiment": (
        Experiment,
        lambda: ExperimentParams(outcome_column="y", treatment_column="t", covariate_columns=["x"]),
        cross_section,
    ),
    "matching": (
        NearestNeighbourMatching,
        lambda: MatchingParams(outcome_column="y", treatment_column="t", covariate_columns=["x"]),
        cross_section,
    ),
    "subclassification": (
        Subclassification,
        lambda: SubclassificationParams(
            outcome_column="y", treatment_column="t", covariate_columns=["x"]
        ),
        cross_section,
    ),
    "its": (
        InterruptedTimeSeries,
        lambda: ITSParams(outcome_column="y", time_column="date", treatment_time="2024-03-15"),
        daily_series,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_huge_effect_reports_the_smallest_positive_bound_with_a_flag(name):
    model, params, data = CASES[name]
    result = model().estimate(data(), params(), seed=0)
    assert result.p_value == FLOOR
    assert result.diagnostics["p_value_is_upper_bound"] is True
    assert result.diagnostics["p_value_note"] == (
        "the exact p-value is below 2.23e-308, the smallest normal float; "
        "p_value is this upper bound"
    )


@pytest.mark.parametrize("name", list(CASES))
def test_ordinary_p_values_carry_no_bound_flag(name):
    model, params, data = CASES[name]
    frame = data()
    frame["y"] = np.random.default_rng(1).normal(size=len(frame))
    result = model().estimate(frame, params(), seed=0)
    assert 0.0 < result.p_value <= 1.0
    assert result.diagnostics["p_value_is_upper_bound"] is False
    assert "p_value_note" not in result.diagnostics
