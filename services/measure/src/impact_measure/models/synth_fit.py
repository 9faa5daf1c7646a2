"""Synthetic-control fits: donor weights, predictor V-weights, placebos in space.

Weights ``w`` (>= 0, summing to 1) are fitted on the pre period only (Abadie, Diamond &
Hainmueller 2010; Abadie 2021). Without predictors they minimise the pre-period outcome
error. With predictors (``k x units`` matrix, each row divided by its SD across units, as
Synth does) they minimise ``sum_k v_k (x_1k - X_0k w)^2`` for predictor weights ``v`` on
the simplex, and ``v`` is chosen to minimise the pre-period outcome MSPE of ``w(v)``
(the nested optimisation of Synth; Nelder-Mead on a softmax of ``v``, best of ``k + 1``
starts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from impact_contracts import ComponentError
from scipy.optimize import minimize, nnls
from scipy.special import softmax


@dataclass(frozen=True)
class Fit:
    """One unit's synthetic control: weights, predictor weights and the gap series."""

    weights: np.ndarray
    v: np.ndarray | None
    gap: np.ndarray
    intercept: bool


def simplex_weights(target: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Least squares ``pool @ w ~ target`` with ``w >= 0`` summing to 1 (scipy ``nnls``
    with the sum-to-one constraint as a heavily weighted extra row)."""
    penalty = 1e3 * max(1.0, float(np.abs(pool).max()), float(np.abs(target).max()))
    matrix = np.vstack([pool, np.full(pool.shape[1], penalty)])
    weights, _ = nnls(matrix, np.append(target, penalty), maxiter=50 * pool.shape[1])
    total = weights.sum()
    if total <= 0:
        raise ComponentError("synthetic_control: weight fit failed (all weights zero)")
    return weights / total


def fit_weights(y: np.ndarray, donors: np.ndarray, intercept: bool) -> np.ndarray:
    """Donor weights that best reproduce ``y`` (both de-meaned with ``intercept``)."""
    if intercept:
        y = y - y.mean()
        donors = donors - donors.mean(axis=0)
    return simplex_weights(y, donors)


def synthetic(
    y_fit: np.ndarray, donors_fit: np.ndarray, donors: np.ndarray, w: np.ndarray, intercept: bool
) -> np.ndarray:
    """The synthetic series over all periods, level-matched on the fitting periods."""
    series = donors @ w
    if intercept:
        series = series + (y_fit.mean() - donors_fit.mean(axis=0) @ w)
    return series


def level_outside(y_pre: np.ndarray, donors_pre: np.ndarray) -> bool:
    """True if the pre-period mean of ``y`` is outside the donors' range of pre-period means:
    no convex combination of the donors can match its level."""
    levels = donors_pre.mean(axis=0)
    return not levels.min() <= float(y_pre.mean()) <= levels.max()


def fit_unit(
    y: np.ndarray,
    donors: np.ndarray,
    pre: np.ndarray,
    intercept: bool | None,
    x: np.ndarray | None = None,
    x_donors: np.ndarray | None = None,
) -> Fit:
    """The pre-period fit of ``y`` on ``donors`` (on predictors ``x`` when given).

    ``intercept=None`` de-means only when ``level_outside`` (the ``auto`` rule).
    """
    if intercept is None:
        intercept = level_outside(y[pre], donors[pre])
    if x is None or x_donors is None:
        weights, v = fit_weights(y[pre], donors[pre], intercept), None
    else:
        weights, v = predictor_weights(y[pre], donors[pre], x, x_donors, intercept)
    gap = y - synthetic(y[pre], donors[pre], donors, weights, intercept)
    return Fit(weights, v, gap, intercept)


def predictor_weights(
    y_pre: np.ndarray,
    donors_pre: np.ndarray,
    x: np.ndarray,
    x_donors: np.ndarray,
    intercept: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Donor weights matching predictors under V-weights chosen by pre-period outcome MSPE."""
    k = len(x)

    def weights_for(v: np.ndarray) -> np.ndarray:
        root = np.sqrt(v)[:, None]
        return simplex_weights(root[:, 0] * x, root * x_donors)

    def outcome_mspe(z: np.ndarray) -> float:
        w = weights_for(softmax(z))
        gap = y_pre - synthetic(y_pre, donors_pre, donors_pre, w, intercept)
        return float(np.mean(gap**2))

    if k == 1:
        v = np.ones(1)
        return weights_for(v), v
    starts = [np.zeros(k), *(3.0 * np.eye(k))]
    start = min(starts, key=outcome_mspe)
    result = minimize(
        outcome_mspe,
        start,
        method="Nelder-Mead",
        options={"maxiter": 200 * k, "xatol": 1e-3, "fatol": 1e-10 * (1 + float(y_pre.var()))},
    )
    v = softmax(result.x if result.fun <= outcome_mspe(start) else start)
    return weights_for(v), v


def rmspe(gap: np.ndarray) -> float:
    return float(np.sqrt(np.mean(gap**2)))


def rmspe_ratio(gap: np.ndarray, post: np.ndarray) -> float:
    """Post-period RMSPE over pre-period RMSPE (Abadie, Diamond & Hainmueller 2010)."""
    return rmspe(gap[post]) / max(rmspe(gap[~post]), 1e-12 * (1 + rmspe(gap[post])))


def placebo_fits(
    donors: np.ndarray, pre: np.ndarray, intercept: bool | None, x_donors: np.ndarray | None
) -> list[Fit]:
    """Each donor in turn treated, fitted on the other donors (the treated unit left out)."""
    fits = []
    for j in range(donors.shape[1]):
        pool = np.delete(donors, j, axis=1)
        if x_donors is None:
            fits.append(fit_unit(donors[:, j], pool, pre, intercept))
        else:
            x_pool = np.delete(x_donors, j, axis=1)
            fits.append(fit_unit(donors[:, j], pool, pre, intercept, x_donors[:, j], x_pool))
    return fits


def rank_p_value(observed: float, placebo: np.ndarray) -> float:
    """``(1 + #{placebo >= observed}) / (1 + #placebo)``: the exact permutation p-value."""
    at_least = placebo >= observed * (1 - 1e-9)
    return float((1 + int(at_least.sum())) / (1 + len(placebo)))


def placebo_interval(
    gap: np.ndarray, post: np.ndarray, placebo_ratios: np.ndarray, alpha: float
) -> tuple[float, float] | str:
    """The constant effects θ the placebo RMSPE-ratio test does not reject (Firpo &
    Possebom 2018): ``ratio(gap - θ·post) <= c``, with ``c`` the critical placebo ratio.

    The set is an interval centred on the mean post gap (the classic ATT). Returns the
    reason instead when the test cannot reject any θ (too few placebos for ``alpha``) or
    rejects every θ.
    """
    n = len(placebo_ratios)
    # p(θ) = (1 + #{placebo ratio >= ratio(θ)}) / (n + 1) > alpha needs `needed` of them
    needed = int(np.floor(alpha * (n + 1) + 1e-9))
    if not 1 <= needed <= n:
        return (
            f"the placebo test cannot reject at alpha={alpha}: {n} placebos give a smallest "
            f"p-value of 1/{n + 1} = {1 / (n + 1):.3g}"
        )
    critical = float(np.sort(placebo_ratios)[::-1][needed - 1])
    pre_rmspe = rmspe(gap[~post])
    post_gap = gap[post]
    spread = float(np.mean((post_gap - post_gap.mean()) ** 2))
    room = (critical * pre_rmspe) ** 2 - spread
    if room < 0:
        return (
            "the placebo test rejects every constant effect (the post-period gap varies "
            "more than the placebos' do)"
        )
    half = float(np.sqrt(room))
    return float(post_gap.mean()) - half, float(post_gap.mean()) + half
