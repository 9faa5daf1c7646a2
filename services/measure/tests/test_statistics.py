"""Monte Carlo checks of honest uncertainty (see docs/measure.md for measured numbers).

50 seeded repetitions per model: a 95% CI must cover the true effect at least 44
times (88%). A/A data: the mean estimate lies within 2 standard errors of zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from impact_measure.models.metrics_approximation import (
    MetricsApproximation,
    MetricsApproximationParams,
)

from services.measure.tests.conftest import SIMULATED

REPS = 50
MIN_COVERED = 44


def repeat(run, build, model, effect):
    results = [run(build(model, effect=effect, seed=1000 + rep), seed=rep) for rep in range(REPS)]
    estimates = np.array([r["effect_estimate"] for r in results])
    covered = sum(r["ci_lower"] <= effect <= r["ci_upper"] for r in results)
    return estimates, covered


@pytest.mark.slow
@pytest.mark.parametrize("model", SIMULATED)
def test_ci_covers_true_effect(model, run, build):
    estimates, covered = repeat(run, build, model, effect=5.0)
    print(f"{model}: covered {covered}/{REPS}, mean estimate {estimates.mean():.3f}")
    assert covered >= MIN_COVERED


@pytest.mark.slow
@pytest.mark.parametrize("model", SIMULATED)
def test_aa_mean_estimate_is_near_zero(model, run, build):
    estimates, covered = repeat(run, build, model, effect=0.0)
    standard_error = estimates.std(ddof=1) / np.sqrt(REPS)
    print(f"{model} A/A: mean {estimates.mean():.3f} (se {standard_error:.3f}), covered {covered}")
    assert abs(estimates.mean()) < 2 * standard_error
    assert covered >= MIN_COVERED


@pytest.mark.slow
def test_confounding_biases_naive_difference_but_not_adjusted_estimates(run, build):
    matching, subclass, naive = [], [], []
    for rep in range(30):
        config = build("nearest_neighbour_matching", effect=5.0, seed=2000 + rep)
        result = run(config)
        matching.append(result["effect_estimate"])
        naive.append(result["diagnostics"]["naive_difference"])
        subclass.append(
            run(build("subclassification", effect=5.0, seed=2000 + rep))["effect_estimate"]
        )
    naive_bias = np.mean(naive) - 5.0
    print(
        f"naive bias {naive_bias:.2f}, matching {np.mean(matching) - 5:.2f}, "
        f"subclassification {np.mean(subclass) - 5:.2f}"
    )
    assert naive_bias > 15.0
    for estimates in (matching, subclass):
        standard_error = np.std(estimates, ddof=1) / np.sqrt(len(estimates))
        assert abs(np.mean(estimates) - 5.0) < 3 * standard_error


@pytest.mark.slow
def test_metrics_approximation_propagates_coefficient_uncertainty():
    true_coefficient, coefficient_se, mean_change = 2.0, 0.3, 4.0
    truth = true_coefficient * mean_change
    rng = np.random.default_rng(0)
    covered = 0
    for rep in range(REPS):
        change = rng.normal(mean_change, 3.0, size=200)
        frame = pd.DataFrame({"metric": 10.0 + change, "baseline": np.full(200, 10.0)})
        params = MetricsApproximationParams(
            metric_column="metric",
            baseline_column="baseline",
            response_coefficient=rng.normal(true_coefficient, coefficient_se),
            coefficient_se=coefficient_se,
        )
        result = MetricsApproximation().estimate(frame, params, seed=rep)
        covered += result.ci_lower <= truth <= result.ci_upper
    print(f"metrics_approximation: covered {covered}/{REPS}")
    assert covered >= MIN_COVERED


@pytest.mark.slow
def test_metrics_approximation_aa_mean_estimate_is_near_zero():
    """No metric change: the approximated impact is centred on zero."""
    rng = np.random.default_rng(1)
    estimates, covered = [], 0
    for rep in range(REPS):
        change = rng.normal(0.0, 3.0, size=200)
        frame = pd.DataFrame({"metric": 10.0 + change, "baseline": np.full(200, 10.0)})
        params = MetricsApproximationParams(
            metric_column="metric",
            baseline_column="baseline",
            response_coefficient=rng.normal(2.0, 0.3),
            coefficient_se=0.3,
        )
        result = MetricsApproximation().estimate(frame, params, seed=rep)
        estimates.append(result.effect)
        covered += result.ci_lower <= 0.0 <= result.ci_upper
    standard_error = np.std(estimates, ddof=1) / np.sqrt(REPS)
    print(f"metrics_approximation A/A: mean {np.mean(estimates):.3f} (se {standard_error:.3f})")
    assert abs(np.mean(estimates)) < 2 * standard_error
    assert covered >= MIN_COVERED
