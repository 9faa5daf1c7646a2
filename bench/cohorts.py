"""Simulated cohorts for the decision-quality benchmark: generating priors of the true
effects (each also as the ``Prior`` the Bayes limit uses) and cohorts of pilots drawn from
one (designs, pilot sizes, estimates, costs, budget, scale results; see
``bench/decision_quality.py``)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from impact_contracts import MODEL_TYPES
from impact_evaluate.posterior import Prior
from scipy import stats

SCALE_SAMPLE_SIZE = 20_000
#: pilot standard error at n = 1000, per design (strong designs are less noisy)
DESIGN_NOISE: dict[str, float] = {
    "experiment": 1.0,
    "nearest_neighbour_matching": 1.5,
    "subclassification": 1.5,
    "synthetic_control": 2.5,
    "interrupted_time_series": 3.0,
    "metrics_approximation": 4.0,
}
Sampler = Callable[[np.random.Generator, int], np.ndarray]


@dataclass(frozen=True)
class TruePrior:
    """A generating prior: a sampler and the same prior as a ``Prior`` (the Bayes limit)."""

    name: str
    sample: Sampler
    prior: Prior


def _density_prior(low: float, high: float, spike: float, pdf: Callable[..., Any]) -> Prior:
    def log_density(theta: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.asarray(np.log(pdf(theta)), dtype=float)

    return Prior(low, high, spike, log_density)


def heavy_tail() -> TruePrior:
    """-3 + lognormal(1.6, 0.8): mean ≈ 3.8, right tail, about 26 % ≤ 0."""
    shape = stats.lognorm(s=0.8, scale=math.exp(1.6), loc=-3.0)
    return TruePrior(
        "heavy_tail",
        lambda rng, n: shape.rvs(size=n, random_state=rng),
        _density_prior(-3.0, float(shape.ppf(1 - 1e-7)), 0.0, shape.pdf),
    )


def many_nulls() -> TruePrior:
    """30 % exactly 0, 10 % N(-2, 1), 60 % gamma(2, scale 4): 40 % ≤ 0, mean ≈ 4.6."""
    negative, positive = stats.norm(-2.0, 1.0), stats.gamma(2.0, scale=4.0)

    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        kind = rng.choice(3, size=n, p=[0.3, 0.1, 0.6])
        draws = np.where(
            kind == 1,
            negative.rvs(size=n, random_state=rng),
            positive.rvs(size=n, random_state=rng),
        )
        return np.where(kind == 0, 0.0, draws)

    def pdf(theta: np.ndarray) -> np.ndarray:
        return (0.1 * negative.pdf(theta) + 0.6 * positive.pdf(theta)) / 0.7

    return TruePrior("many_nulls", sample, _density_prior(-8.0, 80.0, 0.3, pdf))


def normal() -> TruePrior:
    """N(4, 4²): about 16 % ≤ 0."""
    shape = stats.norm(4.0, 4.0)
    return TruePrior(
        "normal",
        lambda rng, n: shape.rvs(size=n, random_state=rng),
        _density_prior(-30.0, 38.0, 0.0, shape.pdf),
    )


def student_t() -> TruePrior:
    """2 + 3 t(3): both tails heavy, about 28 % ≤ 0; not used to tune the estimator."""
    shape = stats.t(3.0, loc=2.0, scale=3.0)
    return TruePrior(
        "student_t",
        lambda rng, n: shape.rvs(size=n, random_state=rng),
        _density_prior(float(shape.ppf(1e-6)), float(shape.ppf(1 - 1e-6)), 0.0, shape.pdf),
    )


PRIORS: dict[str, Callable[[], TruePrior]] = {
    "heavy_tail": heavy_tail,
    "many_nulls": many_nulls,
    "normal": normal,
    "student_t": student_t,
}


@dataclass(frozen=True)
class Cohort:
    """One simulated cohort with its truth."""

    ids: list[str]
    truth: np.ndarray
    estimate: np.ndarray
    error: np.ndarray
    pilot_n: np.ndarray
    model_type: list[str]
    cost: np.ndarray
    budget: float
    scale_actual: np.ndarray


def draw_cohort(
    prior: TruePrior, size: int, rng: np.random.Generator, noise_scale: float = 1.0
) -> Cohort:
    """A cohort of ``size`` initiatives (see the module docstring); ``noise_scale``
    multiplies every pilot's standard error."""
    truth = prior.sample(rng, size)
    model_type = [str(m) for m in rng.choice(list(MODEL_TYPES), size=size)]
    pilot_n = np.exp(rng.uniform(math.log(30), math.log(5000), size=size)).round()
    noise = np.array([DESIGN_NOISE[m] for m in model_type])
    error = noise_scale * noise * np.sqrt(1000.0 / pilot_n)
    estimate = truth + error * rng.standard_normal(size)
    cost = rng.lognormal(0.0, 0.8, size=size)
    scale_error = error * np.sqrt(pilot_n / SCALE_SAMPLE_SIZE)
    scale_actual = truth + scale_error * rng.standard_normal(size)
    ids = [f"i{k:03d}" for k in range(size)]
    return Cohort(
        ids, truth, estimate, error, pilot_n, model_type, cost, 0.3 * float(cost.sum()),
        scale_actual,
    )  # fmt: skip


def cohort_options(description: str, cohorts: int, earlier: bool = False) -> argparse.Namespace:
    """The command line of a cohort benchmark: --cohorts (default ``cohorts``), --size,
    --seed, --priors and --noise (pilot standard-error multipliers); with ``earlier``,
    --earlier (how many earlier cohorts of the same prior and noise feed the prior)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--cohorts", type=int, default=cohorts)
    parser.add_argument("--size", type=int, default=36)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--priors", nargs="+", default=list(PRIORS), choices=list(PRIORS))
    parser.add_argument("--noise", type=float, nargs="+", default=[1.0, 2.0])
    if earlier:
        parser.add_argument("--earlier", type=int, nargs="+", default=[0], metavar="K")
    return parser.parse_args()
