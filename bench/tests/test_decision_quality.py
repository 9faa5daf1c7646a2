"""The decision-quality benchmark on a few seeded cohorts: the posterior removes the
winner's curse and its intervals cover (decision 0080; the full run is in BENCHMARKS.md)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.decision_quality import clustered_se, run_prior


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["heavy_tail", "many_nulls"])
def test_predictions_of_the_selected_are_unbiased_and_covered(prior: str) -> None:
    minimax, bayesian, _ = run_prior(prior, n_cohorts=12, size=36, seed=11)
    for summary in (minimax, bayesian):
        assert abs(summary["bias"]) < 2.5 * summary["bias_se"] + 0.1
        assert summary["raw_bias"] > summary["bias"] + 1.0
        assert abs(summary["total_gap_pct"]) < 12.0
        assert 88.0 <= summary["prediction_covers_actual_pct"] <= 99.0
    captured = bayesian["captured"]
    assert captured["bayesian"] > captured["original"]
    assert captured["bayesian"] > captured["bayes_limit"] - 3.0


def test_the_bias_se_counts_cohorts_not_initiatives() -> None:
    """Independent errors: the clustered SE is the plain one; a shift shared within each
    cohort (its fitted prior's error) makes it as wide as the cohorts' spread says."""
    rng = np.random.default_rng(5)
    independent = rng.standard_normal((400, 10))
    plain = independent.std(ddof=1) / np.sqrt(independent.size)
    assert clustered_se(independent.tolist()) == pytest.approx(plain, rel=0.1)
    shared = independent + 3.0 * rng.standard_normal((400, 1))
    by_cohort = shared.mean(axis=1).std(ddof=1) / np.sqrt(400)
    assert clustered_se(shared.tolist()) == pytest.approx(by_cohort, rel=0.05)
    assert clustered_se(shared.tolist()) > 2.5 * shared.std(ddof=1) / np.sqrt(shared.size)


def test_earlier_cohorts_feed_the_prior_of_the_same_cohorts() -> None:
    """``earlier=1`` decides on the very cohorts ``earlier=0`` does (their Bayes limit and
    oracle are identical), with a prior also fitted on one earlier cohort each."""
    alone = run_prior("many_nulls", n_cohorts=2, size=36, seed=3, noise_scale=2.0)
    pooled = run_prior("many_nulls", n_cohorts=2, size=36, seed=3, noise_scale=2.0, earlier=1)
    assert [s["earlier"] for s in alone + pooled] == [0] * 3 + [1] * 3
    for fixed in ("bayes_limit", "oracle", "raw_knapsack", "original"):
        assert pooled[1]["captured"][fixed] == alone[1]["captured"][fixed]
    assert pooled[1]["total_predicted"] != alone[1]["total_predicted"]
