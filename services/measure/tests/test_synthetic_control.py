"""Synthetic control: the classic estimate, placebo inference and the conformal interval.

Seeded 30-unit daily panels (``datasets.factor_panel``: one treated unit, 100 pre and 20
post days, known effect); published data (Prop 99) is in ``test_replication_panels.py``.
The width reference is the Hsiao-Ching-Wan (2012) panel-data interval: OLS of the treated
unit on the donors over the pre period (statsmodels), the mean post-period prediction error
with its variance sigma^2/T1 + x_bar' Cov(beta) x_bar.
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

from services.measure.tests.datasets import factor_panel, factor_panel_params, panel_treatment_time

REPS, BAND = 200, (184, 196)  # 95% of 200 +- 2 binomial SDs
EFFECT = 5.0


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
    result = SyntheticControl().estimate(
        factor_panel(1, effect=EFFECT), factor_panel_params(), seed=0
    )
    assert result.ci_lower < result.effect < result.ci_upper
    assert result.ci_lower < EFFECT < result.ci_upper
    assert result.p_value == pytest.approx(1 / 30)  # the treated unit ranks first of 30
    assert result.diagnostics["ci_method"] == (
        "placebo-in-space RMSPE-ratio test inverted for a constant effect (Firpo & "
        "Possebom 2018), 29 placebos"
    )
    assert result.diagnostics["placebo"]["n_placebos"] == 29
    pre, post = result.diagnostics["pre_rmspe"], result.diagnostics["post_rmspe"]
    assert result.diagnostics["rmspe_ratio"] == pytest.approx(post / pre)
    conformal = result.diagnostics["conformal"]
    assert conformal["n_permutations"] == 1000
    assert conformal["interval"][0] < EFFECT < conformal["interval"][1]
    assert abs(conformal["effect"] - result.effect) < 0.5
    assert sum(result.diagnostics["weights"].values()) == pytest.approx(1.0)


def test_the_interval_is_the_inverted_placebo_test():
    """Effects at the CI edges have placebo p just above alpha; outside, at most alpha."""
    frame = factor_panel(3, effect=EFFECT)
    result = SyntheticControl().estimate(frame, factor_panel_params(), seed=0)
    post = frame["date"] >= panel_treatment_time()
    treated = frame["unit"] == "u00"
    for edge, inside in [(result.ci_lower, 1e-6), (result.ci_upper, -1e-6)]:
        for shift, accepted in [(inside, True), (-inside * 1e3, False)]:
            shifted = frame.assign(y=frame["y"] - (edge + shift) * (post & treated))
            p_value = SyntheticControl().estimate(shifted, factor_panel_params(), seed=0).p_value
            assert p_value is not None and (p_value > 0.05) is accepted


def test_results_do_not_depend_on_the_callers_seed():
    frame = factor_panel(2, effect=EFFECT)
    first = SyntheticControl().estimate(frame, factor_panel_params(), seed=0)
    second = SyntheticControl().estimate(frame, factor_panel_params(), seed=987_654)
    assert first == second
    other = SyntheticControl().estimate(frame, factor_panel_params(permutation_seed=5), seed=0)
    assert other.effect == first.effect and other.ci_lower == first.ci_lower
    assert other.diagnostics["conformal"]["interval"] != first.diagnostics["conformal"]["interval"]


def test_near_perfect_fit_still_covers_the_truth():
    """A panel the donors fit almost exactly (noise sd 0.01)."""
    covered = 0
    for seed in range(20):
        frame = factor_panel(seed, effect=EFFECT, noise=0.01)
        result = SyntheticControl().estimate(frame, factor_panel_params(), seed=seed)
        assert result.ci_upper - result.ci_lower > 0
        covered += result.ci_lower <= EFFECT <= result.ci_upper
    assert covered >= 18


def test_few_donors_fall_back_to_the_conformal_interval_with_a_warning():
    frame = factor_panel(4, effect=EFFECT, n_units=12)
    result = SyntheticControl().estimate(frame, factor_panel_params(), seed=0)
    assert result.diagnostics["warnings"] == [
        "the placebo test cannot reject at alpha=0.05: 11 placebos give a smallest p-value of "
        "1/12 = 0.0833; the CI is the conformal interval instead"
    ]
    assert result.diagnostics["ci_method"] == (
        "conformal inference test inversion (Chernozhukov, Wuthrich & Zhu 2021): "
        "iid permutations, statistic mean"
    )
    assert [result.ci_lower, result.ci_upper] == result.diagnostics["conformal"]["interval"]
    assert result.p_value == result.diagnostics["conformal"]["p_value"]
    assert result.diagnostics["placebo"]["p_value"] == pytest.approx(1 / 12)
    assert result.ci_lower < EFFECT < result.ci_upper


def test_a_level_outside_the_donors_range_is_demeaned_by_default():
    frame = factor_panel(5, effect=EFFECT)
    frame.loc[frame["unit"] == "u00", "y"] += 100.0
    levels = SyntheticControl().estimate(frame, factor_panel_params(intercept=False), seed=0)
    assert levels.diagnostics["warnings"][0].startswith("the treated unit's pre-period mean 1")
    assert levels.diagnostics["warnings"][0].endswith("consider intercept: true")
    assert levels.effect - EFFECT > 10
    auto = SyntheticControl().estimate(frame, factor_panel_params(), seed=0)
    assert auto.diagnostics["intercept"] is True
    assert auto.diagnostics["intercept_choice"] == (
        "auto: the treated unit's pre-period mean is outside the donors' range, so every "
        "series is de-meaned (Ferman & Pinto 2021)"
    )
    assert auto.diagnostics["warnings"] == []
    assert auto.ci_lower < EFFECT < auto.ci_upper
    assert abs(auto.effect - EFFECT) < 1
    inside = SyntheticControl().estimate(
        factor_panel(5, effect=EFFECT), factor_panel_params(), seed=0
    )
    assert inside.diagnostics["intercept"] is False


def test_predictors_match_the_treated_unit_and_report_their_balance():
    frame = factor_panel(6, effect=EFFECT)
    frame["x"] = frame.groupby("unit")["y"].transform("mean") + 0.0 * frame["y"]
    frame.loc[frame.index[::7], "x"] = np.nan  # means skip missing predictor values
    predictors = [
        {"column": "y", "start": "2024-01-01", "end": "2024-02-29"},
        {"column": "y", "periods": ["2024-03-15", "2024-04-01"]},  # pre period: to 2024-04-09
        {"column": "x"},
    ]
    result = SyntheticControl().estimate(frame, factor_panel_params(predictors=predictors), seed=0)
    balance = result.diagnostics["predictors"]
    assert [p["column"] for p in balance] == ["y", "y", "x"]
    assert sum(p["v_weight"] for p in balance) == pytest.approx(1.0)
    assert balance[0]["synthetic"] == pytest.approx(balance[0]["treated"], rel=0.02)
    assert result.ci_lower < EFFECT < result.ci_upper
    assert result.diagnostics["estimator"].endswith(", predictors with V-weights")


def test_predictor_periods_missing_from_the_data_are_refused():
    predictors = [{"column": "y", "periods": ["1999-01-01"]}]
    with pytest.raises(ConfigError) as info:
        SyntheticControl().estimate(
            factor_panel(6), factor_panel_params(predictors=predictors), seed=0
        )
    assert str(info.value) == (
        "MEASUREMENT.PARAMS.predictors[0]: no period of 'y' matches ['1999-01-01']"
    )
    late = [{"column": "y", "start": "2024-04-01", "end": "2024-04-15"}]
    with pytest.raises(ConfigError) as info:
        SyntheticControl().estimate(factor_panel(6), factor_panel_params(predictors=late), seed=0)
    assert str(info.value) == (
        "MEASUREMENT.PARAMS.predictors[0]: periods ['2024-04-01', '2024-04-15'] reach into the "
        "post period; predictors must be measured before treatment_time"
    )


def test_alpha_below_the_smallest_reachable_p_value_is_refused():
    frame = factor_panel(1, n_periods=30, n_post=5)
    short = SyntheticControlParams(
        outcome_column="y",
        unit_column="unit",
        time_column="date",
        treated_unit="u00",
        treatment_time=panel_treatment_time(30, 5),
        ci_method="conformal",
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


def monte_carlo(effect: float, seed: int, intercept: bool | str) -> dict[str, float]:
    """Coverage and mean width of the placebo CI and the conformal interval, bias, HCW width."""
    rows = []
    for rep in range(REPS):
        frame = factor_panel(seed + rep, effect=effect)
        result = SyntheticControl().estimate(
            frame, factor_panel_params(intercept=intercept), seed=rep
        )
        low, high = result.diagnostics["conformal"]["interval"]
        _, hcw_low, hcw_high = hcw_interval(frame)
        rows.append(
            [
                result.effect - effect,
                result.ci_lower <= effect <= result.ci_upper,
                result.ci_upper - result.ci_lower,
                low <= effect <= high,
                high - low,
                hcw_high - hcw_low,
            ]
        )
    table = np.array(rows, dtype=float)
    summary = {
        "bias": float(table[:, 0].mean()),
        "bias_se": float(table[:, 0].std() / np.sqrt(REPS)),
        "rmse": float(np.sqrt(np.mean(table[:, 0] ** 2))),
        "covered": int(table[:, 1].sum()),
        "width": float(table[:, 2].mean()),
        "conformal_covered": int(table[:, 3].sum()),
        "conformal_width": float(table[:, 4].mean()),
        "hcw_width": float(table[:, 5].mean()),
    }
    print(f"SC effect {effect} intercept {intercept}: {summary}")
    return summary


@pytest.mark.slow
@pytest.mark.parametrize(("effect", "seed"), [(EFFECT, 10_000), (0.0, 20_000)])
@pytest.mark.parametrize("intercept", ["auto", True])
def test_monte_carlo_coverage_and_bias(effect, seed, intercept):
    """Placebo CI: at least 95 % (nominal 1 - 1/30 = 96.7 % with 30 exchangeable units, and
    conservative here, where the donors are harder to fit than the treated unit)."""
    summary = monte_carlo(effect, seed, intercept)
    assert summary["covered"] >= BAND[0]
    assert BAND[0] <= summary["conformal_covered"] <= BAND[1]
    assert abs(summary["bias"]) < 2 * summary["bias_se"] + 0.02
    assert summary["width"] <= 2.5 * summary["hcw_width"]


def test_two_initiatives_with_the_same_data_get_the_same_result(run, build):
    config = build("synthetic_control", seed=8)
    first = run(config, initiative_id="north", seed=3)
    second = run(config, initiative_id="south", seed=3)
    assert first["diagnostics"]["conformal"] == second["diagnostics"]["conformal"]
    for key in ("effect_estimate", "ci_lower", "ci_upper", "p_value"):
        assert first[key] == second[key]
