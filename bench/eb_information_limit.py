"""How close to the Bayes limit can any prior estimated from one cohort get?

The Bayes limit of ``bench/decision_quality.py`` knows the generating prior exactly. An
estimator that knows the prior's *shape* and estimates only its location (one parameter,
by maximum marginal likelihood) is a lower bound on what any estimate from the same cohort
loses: a nonparametric prior (the engine's) also has to learn the shape. This benchmark
reports that oracle-shape estimator's value captured minus the Bayes limit, paired per
cohort, on the same cohorts as ``decision_quality`` (same seed and generator).

Run: ``uv run python -m bench.eb_information_limit [--cohorts 200] [--size 36]
[--priors heavy_tail many_nulls] [--noise 1 2]``. Writes
``bench/results/eb_information_limit.json`` and prints a Markdown table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from impact_evaluate.posterior import Prior, posterior
from scipy import optimize, stats

from bench.cohorts import PRIORS, Cohort, cohort_options, draw_cohort
from bench.decision_quality import knapsack_on, true_value
from bench.machine import machine
from bench.results import markdown_table, write_result

METHOD = (
    "bench/eb_information_limit.py: cohorts drawn as in bench/decision_quality.py (same seed "
    "per prior); per cohort the knapsack on posterior means under the true prior (Bayes "
    "limit) and under the true prior shifted by the location that maximises the cohort's "
    "marginal likelihood (bounded search in [-8, 8]); gap = difference in % of the "
    "oracle's true value, mean over cohorts with its standard error."
)
HEADERS = ["noise", "prior", "cohorts", "size", "Bayes limit %", "oracle shape %", "gap ± SE"]
GRID = 3000


def shifted(prior: Prior, shift: float) -> Prior:
    """``prior`` moved by ``shift`` (the spike at 0 stays where it is)."""
    return Prior(
        prior.low + shift,
        prior.high + shift,
        prior.spike,
        lambda theta: prior.log_density(theta - shift),
    )


def log_marginal(prior: Prior, estimates: np.ndarray, errors: np.ndarray) -> float:
    """``Σ log f(x_i)`` with ``f`` the prior convolved with each estimate's noise."""
    theta = np.linspace(prior.low, prior.high, GRID)
    weights = prior.density(theta)
    weights = weights / weights.sum()
    continuous = stats.norm.pdf(estimates[:, None], theta[None, :], errors[:, None]) @ weights
    marginal = (1 - prior.spike) * continuous + prior.spike * stats.norm.pdf(estimates, 0, errors)
    return float(np.sum(np.log(np.maximum(marginal, 1e-300))))


def oracle_shape_gap(prior: Prior, cohort: Cohort) -> tuple[float, float]:
    """(Bayes limit %, oracle-shape %) of the oracle's true value for one cohort."""
    oracle = true_value(cohort, knapsack_on(cohort, cohort.truth))
    exact = posterior(prior, cohort.estimate, cohort.error, cohort.error).mean
    fitted = optimize.minimize_scalar(
        lambda shift: -log_marginal(shifted(prior, shift), cohort.estimate, cohort.error),
        bounds=(-8.0, 8.0),
        method="bounded",
    )
    located = posterior(
        shifted(prior, float(fitted.x)), cohort.estimate, cohort.error, cohort.error
    )
    limit = true_value(cohort, knapsack_on(cohort, exact))
    shape = true_value(cohort, knapsack_on(cohort, located.mean))
    return 100.0 * limit / oracle, 100.0 * shape / oracle


def run_prior(name: str, noise: float, cohorts: int, size: int, seed: int) -> dict[str, Any]:
    true_prior = PRIORS[name]()
    rng = np.random.default_rng([seed, list(PRIORS).index(name)])
    pairs = np.array(
        [
            oracle_shape_gap(true_prior.prior, draw_cohort(true_prior, size, rng, noise))
            for _ in range(cohorts)
        ]
    )
    gaps = pairs[:, 1] - pairs[:, 0]
    return {
        "prior": name,
        "noise": noise,
        "cohorts": cohorts,
        "size": size,
        "bayes_limit_pct": float(pairs[:, 0].mean()),
        "oracle_shape_pct": float(pairs[:, 1].mean()),
        "gap_pct": float(gaps.mean()),
        "gap_se": float(gaps.std(ddof=1) / np.sqrt(cohorts)),
    }


def table_row(row: dict[str, Any]) -> list[str]:
    return [
        f"x{row['noise']:g}",
        row["prior"],
        str(row["cohorts"]),
        str(row["size"]),
        f"{row['bayes_limit_pct']:.1f}",
        f"{row['oracle_shape_pct']:.1f}",
        f"{row['gap_pct']:+.2f} ± {row['gap_se']:.2f}",
    ]


def main() -> None:
    args = cohort_options(__doc__.split("\n")[0], cohorts=200)
    started = machine()
    rows = []
    for noise in args.noise:
        for name in args.priors:
            rows.append(run_prior(name, noise, args.cohorts, args.size, args.seed))
            print(f"done x{noise:g} {name}", flush=True)
    print(markdown_table(HEADERS, [table_row(row) for row in rows]))
    write_result("eb_information_limit", METHOD, rows, started)


if __name__ == "__main__":
    main()
