"""The empirical-Bayes prior and posteriors (decision 0080)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from impact_evaluate.cohort import Z95, pool_evaluations, portfolio_interval
from impact_evaluate.posterior import fit_prior, normal_prior, posterior
from scipy import stats


def evaluation(initiative_id: str, estimate: float, error: float, **extra: Any) -> dict[str, Any]:
    return {
        "initiative_id": initiative_id,
        "confidence": 0.7,
        "cost": 1.0,
        "return_best": estimate + Z95 * error,
        "return_median": estimate,
        "return_worst": estimate - Z95 * error,
        "model_type": "experiment",
        "sample_size": 100,
        **extra,
    }


def test_a_known_normal_prior_is_recovered() -> None:
    """With many initiatives the fitted prior's posterior means match the true prior's."""
    rng = np.random.default_rng(1)
    truth = rng.normal(3.0, 2.0, size=2000)
    errors = rng.uniform(0.5, 3.0, size=2000)
    estimates = truth + errors * rng.standard_normal(2000)
    fitted = posterior(fit_prior(estimates, errors), estimates, errors, errors).mean
    shrink = 4.0 / (4.0 + errors**2)
    exact = 3.0 + shrink * (estimates - 3.0)
    assert np.mean(np.abs(fitted - exact)) < 0.15
    assert abs(np.mean(fitted - truth)) < 0.1


def test_nulls_get_a_point_mass_at_zero() -> None:
    rng = np.random.default_rng(2)
    truth = np.where(rng.random(1000) < 0.5, 0.0, rng.gamma(2.0, 4.0, size=1000))
    errors = np.full(1000, 1.0)
    estimates = truth + rng.standard_normal(1000)
    prior = fit_prior(estimates, errors)
    assert prior.spike == pytest.approx(0.5, abs=0.1)
    post = posterior(prior, np.array([0.2, 12.0]), np.array([1.0, 1.0]), np.array([1.0, 1.0]))
    assert post.probability_positive[0] < 0.5 < 0.99 < post.probability_positive[1]


def test_shrinkage_grows_with_the_standard_error() -> None:
    rng = np.random.default_rng(3)
    truth = rng.normal(2.0, 1.5, size=200)
    errors = rng.uniform(0.5, 4.0, size=200)
    prior = fit_prior(truth + errors * rng.standard_normal(200), errors)
    ses = np.array([0.1, 0.5, 1.0, 2.0, 4.0, 8.0])
    means = posterior(prior, np.full(6, 9.0), ses, ses).mean
    assert np.all(np.diff(means) < 0)
    assert means[0] == pytest.approx(9.0, abs=0.1)
    assert means[-1] < 4.0


def test_a_one_initiative_cohort_shrinks_only_what_is_noisy() -> None:
    """The default prior N(0, max(x² - s², s²)): a precise pilot keeps its estimate, a
    noisy one is pulled towards 0; intervals stay ordered and contain the mean."""
    (precise,) = pool_evaluations([evaluation("a", 10.0, 0.5)])
    (noisy,) = pool_evaluations([evaluation("a", 10.0, 8.0)])
    assert precise["return_median"] == pytest.approx(10.0 * 100 / 100.25, rel=1e-3)
    assert 0 < noisy["return_median"] < 5.0
    for result in (precise, noisy):
        assert result["return_worst"] <= result["return_median"] <= result["return_best"]
        assert result["prediction_lower"] < result["return_median"] < result["prediction_upper"]
    assert normal_prior(np.array([1.0]), np.array([2.0])).spike == 0.0


def test_an_all_precise_cohort_keeps_its_estimates() -> None:
    rng = np.random.default_rng(4)
    estimates = rng.lognormal(1.0, 1.0, size=30) - 2.0
    cohort = [evaluation(f"i{k}", x, 0.01) for k, x in enumerate(estimates)]
    pooled = pool_evaluations(cohort)
    means = np.array([p["return_median"] for p in pooled])
    assert np.max(np.abs(means - estimates)) < 0.01
    widths = np.array([p["return_best"] - p["return_worst"] for p in pooled])
    assert np.all(widths < 0.1)


def test_the_prediction_interval_adds_the_scale_noise() -> None:
    """A larger scale sample narrows the prediction interval towards the credible one."""
    cohort = [evaluation(f"i{k}", x, 2.0) for k, x in enumerate([1.0, 5.0, 3.0, 8.0, -1.0, 4.0])]
    small = pool_evaluations(cohort, scale_sample_size=100)
    large = pool_evaluations(cohort, scale_sample_size=100_000)
    for s, l_ in zip(small, large, strict=True):
        assert s["return_median"] == pytest.approx(l_["return_median"])
        assert s["prediction_upper"] - s["prediction_lower"] > (
            l_["prediction_upper"] - l_["prediction_lower"]
        )
        assert l_["prediction_lower"] <= l_["return_worst"] + 0.05
        assert l_["prediction_upper"] >= l_["return_best"] - 0.05


def test_raw_estimates_reproduce_the_pilot_ci() -> None:
    cohort = [evaluation("a", 3.0, 1.0), evaluation("b", -1.0, 2.0)]
    raw = pool_evaluations(cohort, estimates="raw")
    for before, after in zip(cohort, raw, strict=True):
        for key in ("return_best", "return_median", "return_worst", "confidence"):
            assert after[key] == before[key]
        assert after["estimates"] == "raw" and after["probability_positive"] is None


def test_values_are_in_the_manifest_unit() -> None:
    cohort = [evaluation("a", 3.0, 1.0), evaluation("b", 2.0, 1.0)]
    raw = pool_evaluations(cohort, estimates="raw", value_factors={"a": 1000.0})
    assert raw[0]["return_median"] == 3000.0 and raw[1]["return_median"] == 2.0


def test_the_portfolio_interval_sums_the_predictive_variances() -> None:
    pooled = [
        {"return_median": 2.0, "prediction_sd": 3.0},
        {"return_median": 1.0, "prediction_sd": 4.0},
    ]
    total, lower, upper = portfolio_interval(pooled)
    assert total == 3.0
    assert upper - total == pytest.approx(stats.norm.ppf(0.975) * 5.0)
    assert total - lower == pytest.approx(upper - total)


def test_the_cohort_settings_are_checked_at_construction() -> None:
    from impact_contracts import ConfigError
    from impact_evaluate import Evaluate, MockEvaluate

    with pytest.raises(ConfigError, match="estimates"):
        Evaluate(estimates="shrunk")
    with pytest.raises(ConfigError, match="min_family_size"):
        MockEvaluate(min_family_size=0)
    assert Evaluate(estimates="raw", min_family_size=12) is not None


def test_a_winners_interval_reaches_past_the_largest_estimate() -> None:
    """The interval prior's broad part reaches beyond the estimates' range, so the top
    estimate's 97.5 % bound is not cut at the estimate itself."""
    rng = np.random.default_rng(7)
    errors = np.full(36, 2.0)
    estimates = rng.normal(3.0, 3.0, 36) + errors * rng.standard_normal(36)
    top = int(np.argmax(estimates))
    post = posterior(
        fit_prior(estimates, errors),
        estimates,
        errors,
        errors / 10,
        fit_prior(estimates, errors, 0.2),
    )
    assert post.upper[top] > estimates[top] + 0.5
    assert post.mean[top] < estimates[top]  # the winner is still shrunk


def test_a_few_agreeing_estimates_keep_some_spread() -> None:
    """Eight estimates that agree within their errors: the prior does not collapse to a
    point, so the posterior means keep their order (the spread prior, decision 0080)."""
    estimates = np.array([4.94, 4.52, 5.74, 5.02, 5.12, 3.11, 11.05, 6.59])
    errors = np.array([0.92, 1.03, 1.79, 1.64, 1.34, 1.12, 5.46, 1.2])
    post = posterior(fit_prior(estimates, errors), estimates, errors, errors)
    assert np.ptp(post.mean) > 0.2
    assert np.argmin(post.mean) == 5 and np.argmax(post.mean) in (2, 6, 7)


def test_the_null_spike_does_not_swallow_a_heavy_tailed_cohort() -> None:
    """36 pilots of Student-t effects (2 + 3·t(3), noise x2): from a single start the fit
    ended with 99.95 % of the prior on the null spike and every posterior mean ~0, so the
    Bayes rule chose at random. The better optimum, a small spike, keeps the precise
    positive pilots positive."""
    estimates = np.array([
        2.98, -1.45, -14.05, 7.15, -1.87, 7.14, 3.51, 2.27, 7.98, 9.45, 0.03, -6.96,
        -28.58, 7.12, 2.99, -13.4, 2.05, 1.81, -5.49, -11.39, -14.87, 6.44, 42.03, 18.9,
        61.0, 0.13, 1.35, 8.84, -2.23, 26.13, 0.52, -0.66, -7.49, 2.04, -36.33, 11.87,
    ])  # fmt: skip
    errors = np.array([
        3.9, 7.07, 7.99, 2.79, 8.59, 13.84, 2.8, 1.57, 5.9, 11.61, 10.4, 3.26,
        44.04, 8.71, 10.1, 27.28, 1.41, 1.94, 11.5, 8.55, 6.09, 6.21, 34.75, 30.46,
        45.44, 4.4, 3.05, 7.8, 7.67, 17.58, 4.11, 14.16, 6.78, 10.95, 32.66, 25.32,
    ])  # fmt: skip
    prior = fit_prior(estimates, errors)
    assert prior.spike < 0.5
    post = posterior(prior, estimates, errors, errors)
    precise_positive = (errors < 3.0) & (estimates > 1.5)  # 7.15, 3.51, 2.27, 2.05, 1.81
    assert precise_positive.sum() == 5
    assert np.all(post.mean[precise_positive] > 1.0)  # were all -0.00
