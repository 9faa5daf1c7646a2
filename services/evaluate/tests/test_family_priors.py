"""A design family gets a prior of its own only when its initiatives show it differs."""

from __future__ import annotations

import numpy as np
import pytest
from impact_evaluate.cohort import _priors

FAMILIES = ["experiment", "matching", "synthetic_control", "its", "did", "metrics"]


def cohort(seed: int, shift: float) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """300 heavy-tailed effects, 50 per design; the ``experiment`` family shifted by
    ``shift``; pilot SEs from 0.5 to 6."""
    rng = np.random.default_rng(seed)
    families = FAMILIES * 50
    shifted = np.array([f == "experiment" for f in families])
    truth = -3.0 + rng.lognormal(1.6, 0.8, len(families)) + np.where(shifted, shift, 0.0)
    errors = rng.uniform(0.5, 6.0, len(families))
    return families, truth, truth + rng.normal(0.0, errors), errors


@pytest.mark.parametrize("seed", range(8))
def test_families_drawn_from_one_prior_share_it(seed: int) -> None:
    """Six families of 50 from the same prior: one pooled prior for all of them (six
    priors fitted on 50 each under-shrank the winners of a 300-initiative cohort)."""
    families, _, estimates, errors = cohort(seed, shift=0.0)
    priors = _priors(families, estimates, errors, 30)
    assert len({id(p) for p in priors}) == 1


@pytest.mark.parametrize("seed", range(4))
def test_a_family_that_differs_gets_its_own_prior(seed: int) -> None:
    """The experiments' effects 10 higher: they get their own prior, every other family
    shares one refitted without them, and the experiments' posterior means are closer to
    the truth than under the others' prior."""
    from impact_evaluate.posterior import posterior

    families, truth, estimates, errors = cohort(seed, shift=10.0)
    priors = _priors(families, estimates, errors, 30)
    shifted = np.array([f == "experiment" for f in families])
    own = priors[families.index("experiment")]
    assert {id(p) for p, s in zip(priors, shifted, strict=True) if s} == {id(own)}
    others = {id(p) for p, s in zip(priors, shifted, strict=True) if not s}
    assert len(others) == 1 and id(own) not in others
    pooled = priors[families.index("matching")]
    x, s, t = estimates[shifted], errors[shifted], truth[shifted]
    own_error = np.mean((posterior(own[0], x, s, s).mean - t) ** 2)
    pooled_error = np.mean((posterior(pooled[0], x, s, s).mean - t) ** 2)
    assert own_error < pooled_error
