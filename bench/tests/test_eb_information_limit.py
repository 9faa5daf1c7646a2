"""The oracle-shape estimator: a shift moves the prior, and a large cohort finds it."""

from __future__ import annotations

import numpy as np

from bench.decision_quality import PRIORS
from bench.eb_information_limit import run_prior, shifted


def test_a_shift_moves_the_density_and_its_support() -> None:
    prior = PRIORS["normal"]().prior
    moved = shifted(prior, 2.5)
    theta = np.linspace(-5.0, 10.0, 31)
    assert np.allclose(moved.density(theta + 2.5), prior.density(theta))
    assert (moved.low, moved.high, moved.spike) == (prior.low + 2.5, prior.high + 2.5, 0.0)


def test_a_large_cohort_reaches_the_bayes_limit() -> None:
    row = run_prior("normal", 1.0, cohorts=3, size=300, seed=5)
    assert row["cohorts"] == 3 and 80.0 < row["bayes_limit_pct"] <= 100.0
    assert abs(row["gap_pct"]) < 1.0
