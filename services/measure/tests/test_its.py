"""ITS: weekly seasonality for daily data by default (issue 13, item 3) and honest coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from impact_contracts import ConfigError
from impact_measure.config import validate_section
from impact_measure.models.its import InterruptedTimeSeries, ITSParams
from scipy.signal import lfilter

N_DAYS, START = 120, "2024-03-31"  # 90 pre days, 30 post days
WEEKLY = np.array([0.0, 1.0, 1.5, 1.0, 0.5, 3.0, 4.0])
REPS, BAND = 200, (184, 196)  # 95% of 200 +- 2 binomial SDs


def daily_series(
    seed: int, step: float, reps: int = 1, phi: float = 0.5, weekly: float = 1.0
) -> list[pd.DataFrame]:
    """``reps`` daily series: level + trend + weekly pattern + step + AR(1) noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=N_DAYS, freq="D")
    noise = lfilter([1.0], [1.0, -phi], rng.normal(size=(reps, N_DAYS)), axis=1)
    base = (
        50 + 0.02 * np.arange(N_DAYS) + weekly * np.resize(WEEKLY, N_DAYS) + step * (dates >= START)
    )
    return [pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "y": base + e}) for e in noise]


def params(**extra: object) -> ITSParams:
    base = {"outcome_column": "y", "time_column": "date", "treatment_time": START}
    return validate_section(ITSParams, {**base, **extra}, "MEASUREMENT.PARAMS")


def test_daily_dates_get_weekly_seasonality_by_default():
    result = InterruptedTimeSeries().estimate(daily_series(1, 2.0)[0], params(), seed=0)
    assert result.diagnostics["seasonal_period"] == 7
    assert result.diagnostics["seasonal_period_source"] == (
        "auto: daily data (1-day spacing), weekly seasonality"
    )


@pytest.mark.parametrize(("setting", "source"), [(None, "disabled"), (0, "disabled")])
def test_seasonality_can_be_switched_off(setting, source):
    result = InterruptedTimeSeries().estimate(
        daily_series(1, 2.0)[0], params(seasonal_period=setting), seed=0
    )
    assert result.diagnostics["seasonal_period"] is None
    assert result.diagnostics["seasonal_period_source"] == f"{source} in PARAMS"


def test_irregular_or_numeric_time_gets_no_automatic_seasonality():
    frame = daily_series(1, 2.0)[0].drop(index=[10, 11])
    gaps = InterruptedTimeSeries().estimate(frame, params(), seed=0)
    assert gaps.diagnostics["seasonal_period"] is None
    assert gaps.diagnostics["seasonal_period_source"] == (
        "auto: not a regular daily series, no seasonal dummies"
    )
    numeric = daily_series(1, 2.0)[0].assign(date=np.arange(N_DAYS))
    result = InterruptedTimeSeries().estimate(numeric, params(treatment_time=90), seed=0)
    assert result.diagnostics["seasonal_period"] is None


def test_a_period_of_one_is_refused():
    with pytest.raises(ConfigError) as info:
        params(seasonal_period=1)
    assert str(info.value) == (
        "MEASUREMENT.PARAMS.seasonal_period: Value error, must be 'auto', null or 0 "
        "(no seasonality), or an integer >= 2"
    )


def test_weekly_seasonality_narrows_the_interval_on_daily_data():
    frames = daily_series(7, 2.0, reps=20, weekly=3.0)
    widths = {}
    for setting in ("auto", None):
        fits = [
            InterruptedTimeSeries().estimate(f, params(seasonal_period=setting), 0) for f in frames
        ]
        widths[setting] = np.mean([r.ci_upper - r.ci_lower for r in fits])
    assert widths["auto"] < 0.6 * widths[None]  # measured: 2.42 vs 5.20


def coverage(step: float, seed: int) -> tuple[int, float]:
    fits = [
        InterruptedTimeSeries().estimate(frame, params(), seed=0)
        for frame in daily_series(seed, step, reps=REPS)
    ]
    covered = sum(r.ci_lower <= step <= r.ci_upper for r in fits)
    width = float(np.mean([r.ci_upper - r.ci_lower for r in fits]))
    print(f"ITS step {step}: covered {covered}/{REPS}, mean width {width:.3f}")
    return covered, width


@pytest.mark.slow
@pytest.mark.parametrize(("step", "seed"), [(2.0, 100), (0.0, 200)])
def test_monte_carlo_coverage_is_in_the_binomial_band(step, seed):
    covered, _ = coverage(step, seed)
    assert BAND[0] <= covered <= BAND[1]
