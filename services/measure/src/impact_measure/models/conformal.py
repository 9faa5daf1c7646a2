"""Conformal inference on a constant effect (Chernozhukov, Wüthrich & Zhu 2021, JASA).

For a candidate effect θ the null is imposed on the post period, the counterfactual
model is fitted on *all* periods of the adjusted series (the caller's ``residuals(θ)``),
and the statistic of the observed post-period residuals is ranked among the same
statistic over time permutations of the residuals (``permutation_indices``). The
p-value is ``#{permutations with statistic >= observed} / #permutations`` (the identity
counts), so it is never 0. The confidence interval is the set of accepted θ around the
point estimate, the θ whose post residuals have mean zero (there the p-value is 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from impact_contracts import ComponentError
from scipy.optimize import brentq

Residuals = Callable[[float], np.ndarray]
Statistic = Literal["mean", "mean_abs"]
MAX_STEPS = 200
BISECTIONS = 12


def permutation_indices(
    post: np.ndarray,
    scheme: Literal["iid", "moving_block"],
    n_permutations: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Rows of period indices standing in for the post period; row 0 is the observed one.

    ``iid``: ``n_permutations`` uniformly random permutations (CWZ's Π_iid; exact when the
    residuals are exchangeable). ``moving_block``: the ``T`` cyclic shifts (CWZ's Π_→;
    valid under weak serial dependence, but the smallest p-value is 1/T).
    """
    positions = np.flatnonzero(post)
    length = len(post)
    if scheme == "moving_block":
        return (np.arange(length)[:, None] + positions[None, :]) % length
    draws = np.argsort(rng.random((n_permutations, length)), axis=1)[:, : len(positions)]
    return np.vstack([positions, draws])


def p_value(residual: np.ndarray, rows: np.ndarray, statistic: Statistic) -> float:
    """Share of permutations whose statistic is at least the observed one (row 0)."""
    blocks = residual[rows]
    values = np.abs(blocks.mean(axis=1)) if statistic == "mean" else np.abs(blocks).mean(axis=1)
    return float(np.mean(values >= values[0] * (1 - 1e-9) - 1e-12))


def point_estimate(residuals: Residuals, post: np.ndarray, start: float, scale: float) -> float:
    """The θ at which the mean post-period residual is zero (bracketed from ``start``)."""

    def mean_post(theta: float) -> float:
        return float(residuals(theta)[post].mean())

    low, high = start - scale, start + scale
    for _ in range(40):
        if mean_post(low) * mean_post(high) <= 0:
            return float(brentq(mean_post, low, high, xtol=1e-10 * max(scale, 1e-12)))
        low, high = start - 2 * (start - low), start + 2 * (high - start)
    raise ComponentError("synthetic_control: no effect makes the mean post residual zero")


def interval(
    accepts: Callable[[float], bool], center: float, step: float
) -> tuple[float, float] | None:
    """The accepted θ interval around ``center``: scan outward by ``step``, then bisect.

    ``None`` when nothing is rejected within ``MAX_STEPS`` steps on a side (the set is
    unbounded there, as cyclic shifts can make it on short or trending series).
    """
    edges = []
    for direction in (-1.0, 1.0):
        inside = center
        for k in range(1, MAX_STEPS + 1):
            candidate = center + direction * k * step
            if not accepts(candidate):
                outside = candidate
                break
            inside = candidate
        else:
            return None
        for _ in range(BISECTIONS):
            middle = 0.5 * (inside + outside)
            inside, outside = (middle, outside) if accepts(middle) else (inside, middle)
        edges.append(inside)
    return edges[0], edges[1]
