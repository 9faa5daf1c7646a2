"""Seeded random portfolios: the instances the solver tests and the benchmark share."""

from __future__ import annotations

import numpy as np
from impact_contracts import EvaluateResult

from impact_allocate.problem import Candidates, build_candidates


def random_candidates(n: int, seed: int) -> Candidates:
    """``n`` initiatives with normal medians, asymmetric best/worst spreads, random
    confidences in [0.2, 0.95] and costs in [1, 10]; the same ``seed`` gives the same set."""
    rng = np.random.default_rng(seed)
    median = rng.normal(10, 5, n)
    half = np.abs(rng.normal(5, 2, n))
    return build_candidates(
        [
            EvaluateResult(
                initiative_id=f"init-{i}",
                confidence=float(rng.uniform(0.2, 0.95)),
                cost=float(rng.uniform(1, 10)),
                return_best=float(median[i] + half[i]),
                return_median=float(median[i]),
                return_worst=float(median[i] - 1.3 * half[i]),
                model_type="experiment",
                sample_size=100,
            )
            for i in range(n)
        ]
    )
