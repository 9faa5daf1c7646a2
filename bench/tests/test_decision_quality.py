"""The decision-quality benchmark on a few seeded cohorts: the posterior removes the
winner's curse and its intervals cover (decision 0080; the full run is in BENCHMARKS.md)."""

from __future__ import annotations

import pytest

from bench.decision_quality import run_prior


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
