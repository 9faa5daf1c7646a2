"""Synthetic control: a valid conformal interval (issue 13, item 2).

Seeded 30-unit daily panels (``datasets.factor_panel``: one treated unit, 100 pre and 20
post days, known effect). The reference is the Hsiao-Ching-Wan (2012) panel-data
interval: OLS of the treated unit on the donors over the pre period (statsmodels), the
mean post-period prediction error with its variance sigma^2/T1 + x_bar' Cov(beta) x_bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from impact_contracts import ConfigError
from impact_measure.models.synthetic_control import SyntheticControl, SyntheticControlParams
from scipy import stats
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant

from services.measure.tests.datasets import factor_panel, panel_treatment_time

REPS, BAND = 200, (184, 196)  # 95% of 200 +- 2 binomial SDs
EFFECT = 5.0


def params(**extra: object) -> SyntheticControlParams:
    return SyntheticControlParams(
        outcome_column="y",
        unit_column="unit",
        time_column="date",
        treated_unit="u00",
        treatment_time=panel_treatment_time(),
        **extra,
    )


def hcw_interval(frame: pd.DataFrame, alpha: float = 0.05) -> tuple[float, float, float]:
    """Hsiao-Ching-Wan estimate and t-interval of the mean post-period effect."""
    wide = frame.pivot(index="date", columns="unit", values="y")
    post = np.asarray(wide.index >= panel_treatment_time())
    treated = wide.pop("u00").to_numpy()
    donors = add_constant(wide.to_numpy())
    fit = OLS(treated[~post], donors[~post]).fit()
    gap = treated[post] - fit.predict(donors[post])
    x_bar = donors[post].mean(axis=0)
    variance = fit.scale / post.sum() + x_bar @ fit.cov_params() @ x_bar
    half = float(stats.t.ppf(1 - alpha / 2, fit.df_resid)) * float(np.sqrt(variance))
    return float(gap.mean()), float(gap.mean()) - half, float(gap.mean()) + half


def test_interval_is_proper_and_contains_the_estimate():
    result = SyntheticControl().estimate(factor_panel(1, effect=EFFECT), params(), seed=0)
    assert result.ci_lower < result.effect < result.ci_upper
    assert result.ci_lower < EFFECT < result.ci_upper
    assert result.p_value == pytest.approx(1 / 1000)  # effect 5 with noise sd 1: smallest p
    assert result.diagnostics["ci_method"] == (
        "conformal inference test inversion (Chernozhukov, Wuthrich & Zhu 2021): "
        "iid permutations, statistic mean"
    )
    assert result.diagnostics["n_permutations"] == 1000
    assert abs(result.diagnostics["pre_period_fit_effect"] - result.effect) < 0.5


def test_near_perfect_fit_still_covers_the_truth():
    """The issue's case: a panel the donors fit almost exactly (noise sd 0.01)."""
    covered = 0
    for seed in range(20):
        frame = factor_panel(seed, effect=EFFECT, noise=0.01)
        result = SyntheticControl().estimate(frame, params(), seed=seed)
        assert result.ci_upper - result.ci_lower > 0
        covered += result.ci_lower <= EFFECT <= result.ci_upper
    assert covered >= 18


def test_alpha_below_the_smallest_reachable_p_value_is_refused():
    frame = factor_panel(1, n_periods=30, n_post=5)
    short = SyntheticControlParams(
        outcome_column="y",
        unit_column="unit",
        time_column="date",
        treated_unit="u00",
        treatment_time=panel_treatment_time(30, 5),
        conformal_permutations="moving_block",
    )
    SyntheticControl().estimate(frame, short, seed=0)  # 1/30 < alpha = 0.05: fine
    tight = short.model_copy(update={"alpha": 0.01})
    with pytest.raises(ConfigError) as info:
        SyntheticControl().estimate(frame, tight, seed=0)
    assert str(info.value) == (
        "MEASUREMENT.PARAMS.alpha: 0.01 is below the smallest p-value the conformal test can "
        "reach (1/30 = 0.0333 with moving_block permutations); raise alpha or n_permutations"
    )


def monte_carlo(effect: float, seed: int) -> tuple[int, float, float, int]:
    """Coverage and mean width of the conformal CI, the HCW mean width and coverage."""
    covered, widths, hcw_widths, hcw_covered = 0, [], [], 0
    for rep in range(REPS):
        frame = factor_panel(seed + rep, effect=effect)
        result = SyntheticControl().estimate(frame, params(), seed=rep)
        covered += result.ci_lower <= effect <= result.ci_upper
        widths.append(result.ci_upper - result.ci_lower)
        _, low, high = hcw_interval(frame)
        hcw_widths.append(high - low)
        hcw_covered += low <= effect <= high
    width, hcw_width = float(np.mean(widths)), float(np.mean(hcw_widths))
    print(
        f"SC effect {effect}: covered {covered}/{REPS}, mean width {width:.3f}; "
        f"HCW covered {hcw_covered}/{REPS}, mean width {hcw_width:.3f}"
    )
    return covered, width, hcw_width, hcw_covered


@pytest.mark.slow
@pytest.mark.parametrize(("effect", "seed"), [(EFFECT, 10_000), (0.0, 20_000)])
def test_monte_carlo_coverage_and_width_against_hcw(effect, seed):
    covered, width, hcw_width, _ = monte_carlo(effect, seed)
    assert BAND[0] <= covered <= BAND[1]
    assert width <= 2.0 * hcw_width
