"""Empirical-Bayes posteriors of effects from ``(estimate, standard error)`` pairs.

The prior ``g`` is estimated from the whole cohort by Efron's g-modeling (Efron 2016,
"Empirical Bayes deconvolution estimates"): a point mass ``p0`` at 0 (null effects) plus a
log-polynomial density ``exp(Q(θ) a)`` on a grid spanning the estimates (degree 5, skew and
heavy tails allowed; the terms above degree 2 penalised, so the fit leans towards a normal
prior where the data say little), fitted by penalised maximum likelihood of the marginal density
``f(x_i) = ∫ φ_{s_i}(x_i - θ) g(dθ)`` (scipy L-BFGS with the analytic gradient, from a
small and a moderate spike: the better optimum is kept). A cohort
too small to estimate a prior (``< MIN_COHORT``) gets a normal prior ``N(0, τ²)`` with
``τ² = max(mean(x² - s²), mean(s²))``: a weak default that shrinks noisy estimates towards 0
and leaves precise ones almost untouched.

Each initiative's posterior is computed on the prior's grid joined with a fine grid around
its own estimate, so precise estimates are not rounded to the prior's grid. The cohort step
takes means from the fitted prior and intervals from one with ``BROAD_WEIGHT`` of a broad
normal mixed in (decision 0080).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

Array = NDArray[np.float64]

#: fewer initiatives than this: the default normal prior (nothing to estimate a shape from)
MIN_COHORT = 5
GRID_POINTS = 300
DEGREE = 5
#: parameters of one fitted prior: the log-polynomial's coefficients and the spike
FIT_PARAMETERS = DEGREE + 1
#: ridge penalty on the log-polynomial coefficients above degree ``FREE_DEGREE`` (Efron's
#: ``c0``): the fit is pulled towards a (truncated) normal prior, not towards a flat one
#: over the estimates' range, which shrank the winners of noisy cohorts too little
PENALTY = 1.0
FREE_DEGREE = 2
#: weight of ``log sd`` of the fitted density in the objective (Chung et al. 2013's
#: boundary-avoiding gamma(2) prior on the spread): a few initiatives that agree within
#: their errors do not collapse the prior to one point
SPREAD_PRIOR = 0.25
#: weight of a broad Student-t (the cohort's mean and spread, ``BROAD_DF`` degrees of
#: freedom) mixed into the fitted prior for the intervals: the prior is estimated from few
#: initiatives, and its tails decide the selected ones' intervals
BROAD_WEIGHT = 0.2
#: the cohort size up to which the broad part has its full weight; past it the weight
#: falls as ``1 / sqrt(n)``, as the fitted prior's own uncertainty does
BROAD_FULL_UNTIL = 36
BROAD_DF = 3.0
#: how far (in the broad part's scales) the interval prior reaches past the estimates
BROAD_SPAN = 4.0
#: the prior is fitted on at most this many initiatives (an evenly spaced, sorted subset)
MAX_FIT = 5000
#: the null spike's starting logits; the fit keeps the better optimum. From one start
#: alone it could end where the spike holds nearly all the mass and every posterior mean
#: is ~0 (10 of 200 Student-t cohorts of 36 at noise x2), although a small spike fits better
SPIKE_STARTS = (-2.0, -6.0)
LOCAL_POINTS = 161
LOCAL_SPAN = 8.0
CHUNK = 1000


@dataclass(frozen=True)
class Prior:
    """A point mass ``spike`` at 0 plus ``(1 - spike)`` times a density on ``[low, high]``."""

    low: float
    high: float
    spike: float
    log_density: Callable[[Array], Array]

    def density(self, theta: Array) -> Array:
        inside = (theta >= self.low) & (theta <= self.high)
        return np.where(inside, np.exp(self.log_density(np.clip(theta, self.low, self.high))), 0.0)


@dataclass(frozen=True)
class Posterior:
    """Per-initiative summaries (arrays in input order); intervals are central 95 %."""

    mean: Array
    sd: Array
    lower: Array
    upper: Array
    probability_positive: Array
    predictive_lower: Array
    predictive_upper: Array
    predictive_sd: Array


def broad_weight(cohort_size: int) -> float:
    """The broad part's weight in the interval prior of a cohort of ``cohort_size``."""
    return BROAD_WEIGHT * min(1.0, float(np.sqrt(BROAD_FULL_UNTIL / max(cohort_size, 1))))


def normal_prior(estimates: Array, errors: Array) -> Prior:
    """``N(0, τ²)`` with the moment estimate of τ², floored at the mean squared error."""
    tau2 = max(float(np.mean(estimates**2 - errors**2)), float(np.mean(errors**2)), 1e-12)
    tau = np.sqrt(tau2)

    def log_density(theta: Array) -> Array:
        return np.asarray(stats.norm.logpdf(theta, scale=tau), dtype=float)

    return Prior(-10.0 * tau, 10.0 * tau, 0.0, log_density)


def _grid(estimates: Array, errors: Array) -> Array:
    low = min(0.0, float(estimates.min()))
    high = max(0.0, float(estimates.max()))
    if high - low < 1e-12:
        pad = max(float(errors.max()), 1e-6)
        low, high = low - pad, high + pad
    return np.linspace(low, high, GRID_POINTS)


def _fit_subset(estimates: Array, errors: Array) -> tuple[Array, Array]:
    if estimates.size <= MAX_FIT:
        return estimates, errors
    order = np.argsort(estimates, kind="stable")
    keep = order[np.linspace(0, estimates.size - 1, MAX_FIT).round().astype(int)]
    return estimates[keep], errors[keep]


def fit_prior(estimates: Array, errors: Array, broad_weight: float = 0.0) -> Prior:
    """Efron's g-model with a spike at 0 (see the module docstring), ``broad_weight`` of it
    a broad Student-t with the cohort's mean and spread; the normal default for a cohort
    smaller than ``MIN_COHORT``."""
    estimates = np.asarray(estimates, dtype=float)
    errors = np.asarray(errors, dtype=float)
    if estimates.size < MIN_COHORT:
        return normal_prior(estimates, errors)
    x, s = _fit_subset(estimates, errors)
    grid = _grid(x, s)
    step = grid[1] - grid[0]
    low, high = float(grid[0]), float(grid[-1])

    def basis(theta: Array) -> Array:
        u = 2.0 * (theta - low) / (high - low) - 1.0
        return np.asarray(np.polynomial.legendre.legvander(u, DEGREE)[:, 1:], dtype=np.float64)

    q = basis(grid)
    penalised = np.arange(1, DEGREE + 1) > FREE_DEGREE
    s_fit = np.sqrt(s**2 + step**2 / 4.0)
    likelihood = stats.norm.pdf(x[:, None], loc=grid[None, :], scale=s_fit[:, None])
    at_zero = stats.norm.pdf(x, scale=s_fit)

    def objective(params: Array) -> tuple[float, Array]:
        alpha, beta = params[:-1], params[-1]
        weights = special.softmax(q @ alpha)
        spike = special.expit(beta)
        continuous = likelihood @ weights
        marginal = np.maximum((1.0 - spike) * continuous + spike * at_zero, 1e-300)
        inverse = 1.0 / marginal
        centred = q - weights @ q
        squares = (grid - weights @ grid) ** 2
        variance = max(float(weights @ squares), 1e-300)
        value = (
            -np.sum(np.log(marginal))
            + PENALTY * (penalised * alpha) @ alpha
            + 1e-3 * beta**2
            - SPREAD_PRIOR * np.log(variance) / 2.0
        )
        grad_alpha = -(1.0 - spike) * centred.T @ (weights * (likelihood.T @ inverse))
        grad_alpha -= SPREAD_PRIOR * (centred.T @ (weights * squares)) / (2.0 * variance)
        grad_beta = -spike * (1.0 - spike) * np.sum((at_zero - continuous) * inverse)
        gradient = np.append(
            grad_alpha + 2.0 * PENALTY * penalised * alpha, grad_beta + 2e-3 * beta
        )
        return float(value), gradient

    solution = min(
        (
            optimize.minimize(
                objective, np.append(np.zeros(DEGREE), logit), jac=True, method="L-BFGS-B"
            )
            for logit in SPIKE_STARTS
        ),
        key=lambda result: float(result.fun),
    )
    alpha, beta = solution.x[:-1], float(solution.x[-1])
    log_norm = float(special.logsumexp(q @ alpha)) + np.log(step)
    spike = float(special.expit(beta))
    broad_sd = float(np.sqrt(max(np.var(x), np.mean(s**2))))
    broad = stats.t(BROAD_DF, float(np.mean(x)), broad_sd)
    fitted_mass, spread_mass = (1.0 - spike) * (1.0 - broad_weight), broad_weight

    def log_density(theta: Array) -> Array:
        theta = np.atleast_1d(theta)
        inside = (theta >= low) & (theta <= high)
        fitted = np.where(inside, basis(np.clip(theta, low, high)) @ alpha - log_norm, -np.inf)
        if spread_mass == 0.0:
            return np.asarray(fitted, dtype=np.float64)
        return np.asarray(
            np.logaddexp(np.log(fitted_mass) + fitted, np.log(spread_mass) + broad.logpdf(theta))
            - np.log(fitted_mass + spread_mass),
            dtype=np.float64,
        )

    # the broad part reaches past the estimates' range, so a winner's interval is not cut
    # at its own estimate
    tail = BROAD_SPAN * broad_sd if broad_weight > 0 else 0.0
    return Prior(low - tail, high + tail, spike * (1.0 - broad_weight), log_density)


def log_likelihood(prior: Prior, estimates: Array, errors: Array) -> float:
    """``Σ log f(x_i)``, the marginal log-likelihood of the estimates under ``prior``, on
    the prior's grid with the fit's rounding correction."""
    x = np.asarray(estimates, dtype=float)
    s = np.asarray(errors, dtype=float)
    theta = np.linspace(prior.low, prior.high, GRID_POINTS)
    step = theta[1] - theta[0]
    weights = prior.density(theta)
    weights = weights / max(float(weights.sum()), 1e-300)
    s_fit = np.sqrt(s**2 + step**2 / 4.0)
    continuous = stats.norm.pdf(x[:, None], loc=theta[None, :], scale=s_fit[:, None]) @ weights
    at_zero = stats.norm.pdf(x, scale=s_fit)
    marginal = (1.0 - prior.spike) * continuous + prior.spike * at_zero
    return float(np.sum(np.log(np.maximum(marginal, 1e-300))))


def _atoms(prior: Prior, estimates: Array, errors: Array) -> tuple[Array, Array]:
    """Posterior atoms (values, masses), one row per initiative, the spike last."""
    shared = np.linspace(prior.low, prior.high, GRID_POINTS)
    local = estimates[:, None] + errors[:, None] * np.linspace(
        -LOCAL_SPAN, LOCAL_SPAN, LOCAL_POINTS
    )
    theta = np.sort(
        np.hstack([np.broadcast_to(shared, (estimates.size, shared.size)), local]), axis=1
    )
    theta = np.clip(theta, prior.low, prior.high)
    gaps = np.diff(theta, axis=1)
    widths = np.zeros_like(theta)
    widths[:, :-1] += gaps / 2.0
    widths[:, 1:] += gaps / 2.0
    log_like = stats.norm.logpdf(estimates[:, None], loc=theta, scale=errors[:, None])
    density = prior.density(theta.ravel()).reshape(theta.shape)
    with np.errstate(divide="ignore"):
        log_mass = np.log((1.0 - prior.spike) * density * widths) + log_like
        spike = np.log(prior.spike) + stats.norm.logpdf(estimates, scale=errors)
    log_mass = np.hstack([log_mass, spike[:, None]])
    values = np.hstack([theta, np.zeros((estimates.size, 1))])
    mass = np.exp(log_mass - special.logsumexp(log_mass, axis=1, keepdims=True))
    return values, mass


def _quantiles(values: Array, mass: Array, levels: tuple[float, ...]) -> list[Array]:
    order = np.argsort(values, axis=1, kind="stable")
    sorted_values = np.take_along_axis(values, order, axis=1)
    cumulative = np.cumsum(np.take_along_axis(mass, order, axis=1), axis=1)
    rows = np.arange(values.shape[0])
    out = []
    for level in levels:
        index = np.minimum(np.sum(cumulative < level, axis=1), values.shape[1] - 1)
        out.append(sorted_values[rows, index])
    return out


def _predictive_quantile(values: Array, mass: Array, noise: Array, level: float) -> Array:
    """Solve ``Σ_k m_k Φ((y - θ_k) / noise) = level`` per row by bisection."""
    low = values.min(axis=1) - 10.0 * noise
    high = values.max(axis=1) + 10.0 * noise
    scale = noise[:, None]
    for _ in range(45):
        middle = (low + high) / 2.0
        cdf = np.sum(mass * special.ndtr((middle[:, None] - values) / scale), axis=1)
        below = cdf < level
        low = np.where(below, middle, low)
        high = np.where(below, high, middle)
    return (low + high) / 2.0


def posterior(
    prior: Prior,
    estimates: Array,
    errors: Array,
    scale_errors: Array,
    interval_prior: Prior | None = None,
    predict: Array | None = None,
) -> Posterior:
    """Posterior and posterior-predictive summaries; ``scale_errors`` is the standard error
    of the scale measurement (its own noise, added for the prediction interval). Means and
    P(effect > 0) come from ``prior``, intervals from ``interval_prior`` (default: the
    same). The predictive quantiles, the costly part, are computed where the boolean mask
    ``predict`` is true (default: everywhere), NaN elsewhere."""
    estimates = np.asarray(estimates, dtype=float)
    errors = np.maximum(np.asarray(errors, dtype=float), 1e-12)
    scale_errors = np.asarray(scale_errors, dtype=float)
    wanted = np.ones(estimates.size, dtype=bool) if predict is None else np.asarray(predict)
    parts: list[list[Array]] = []
    for start in range(0, estimates.size, CHUNK):
        part = slice(start, start + CHUNK)
        values, mass = _atoms(prior, estimates[part], errors[part])
        mean = np.sum(mass * values, axis=1)
        positive = np.sum(mass * (values > 0), axis=1)
        if interval_prior is not None and interval_prior is not prior:
            values, mass = _atoms(interval_prior, estimates[part], errors[part])
        spread_mean = np.sum(mass * values, axis=1)
        sd = np.sqrt(np.maximum(np.sum(mass * (values - spread_mean[:, None]) ** 2, axis=1), 0.0))
        lower, upper = _quantiles(values, mass, (0.025, 0.975))
        rows = wanted[part]
        noise = np.maximum(scale_errors[part][rows], 1e-12)
        predictive_lower = np.full(rows.size, np.nan)
        predictive_upper = np.full(rows.size, np.nan)
        if rows.any():
            predictive_lower[rows] = _predictive_quantile(values[rows], mass[rows], noise, 0.025)
            predictive_upper[rows] = _predictive_quantile(values[rows], mass[rows], noise, 0.975)
        predictive_sd = np.sqrt(sd**2 + scale_errors[part] ** 2)
        parts.append(
            [mean, sd, lower, upper, positive, predictive_lower, predictive_upper, predictive_sd]
        )
    columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
    return Posterior(*columns)
