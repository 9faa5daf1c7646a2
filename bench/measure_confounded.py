"""Bias and CI coverage of matching and subclassification on confounded simulator data.

Run: ``uv run python -m bench.measure_confounded [--replicates 200] [--jobs 4]``; the
recorded table uses ``--replicates 1200``: with 400 draws a coverage's Clopper-Pearson
interval is about ±2 points and the three models share each draw, so one unlucky set of
draws moves a design's rows together (decision 0077). The first
three designs are the simulator's confounded cross-section (``assignment: confounded``); the
fourth is another generator (``nonlinear_frame``: outcome nonlinear in the covariates,
heteroskedastic noise, a binary confounder), so the CIs are not checked on one generator
only. Replicate ``r`` draws data with seed ``base + r`` and a true effect of 2 to 5
(cycling through seven values).
Per design and model: bias (mean estimate - truth) with its Monte Carlo SE, the share of
95 % CIs covering the truth with its exact binomial (Clopper-Pearson) interval, the mean
CI width, and the mean reported SE against the SD of the errors. Writes
``bench/results/measure_confounded.json``.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from impact_measure.models import MODELS
from impact_measure.sources.simulator import SimulatorConfig, simulate
from scipy import stats

from bench.machine import machine
from bench.results import markdown_table, write_result

#: What the simulator's confounded assignment depends on (log1p(baseline revenue), price)
#: and what post-period revenue is linear in (baseline revenue).
CONFOUNDERS = ["baseline_revenue", "log_baseline_revenue", "price"]
COLUMNS = {"outcome_column": "revenue", "treatment_column": "treated"}
EFFECTS = np.linspace(2.0, 5.0, 7)
#: The covariates of the non-simulator design (``nonlinear_frame``).
NONLINEAR_CONFOUNDERS = ["x1", "x2", "x3"]
METHOD = (
    "Simulator cross-section with assignment: confounded, and nonlinear_frame (nonlinear, "
    "heteroskedastic); replicate r uses seed base + r and true effect EFFECTS[r % 7] (2 to "
    "5). Model.estimate(frame, params, seed=0) per model; covariates baseline_revenue, "
    "log_baseline_revenue, price (simulator) or x1, x2, x3. Bias ± Monte Carlo SE "
    "(SD of errors / sqrt(R)); coverage of the 95 % CI with its Clopper-Pearson 95 % interval."
)
HEADERS = [
    "design",
    "model",
    "R",
    "bias ± MC SE",
    "coverage [95 % interval]",
    "mean CI width",
    "mean SE / SD of errors",
    "bias / mean SE",
    "naive bias",
]


@dataclass(frozen=True)
class Design:
    name: str
    n_products: int
    treatment_fraction: float
    confounding_strength: float
    base_seed: int
    generator: str = "simulator"


DESIGNS = [
    Design("pilot: 400 products, 30 % treated", 400, 0.3, 0.5, 10_000),
    Design("scale: 2,000 products, 30 % treated", 2_000, 0.3, 0.5, 20_000),
    Design("strong: 1,000 products, 20 % treated, strength 1.5", 1_000, 0.2, 1.5, 30_000),
    Design(
        "other generator: 1,000 units, nonlinear, heteroskedastic, ~30 % treated",
        1_000,
        0.3,
        1.0,
        40_000,
        "nonlinear",
    ),
]
MODEL_PARAMS: dict[str, tuple[str, dict[str, Any]]] = {
    "nearest_neighbour_matching (k=4)": (
        "nearest_neighbour_matching",
        {**COLUMNS, "covariate_columns": CONFOUNDERS, "n_neighbors": 4},
    ),
    "subclassification (ATT)": (
        "subclassification",
        {**COLUMNS, "covariate_columns": CONFOUNDERS},
    ),
    "subclassification (ATE)": (
        "subclassification",
        {**COLUMNS, "covariate_columns": CONFOUNDERS, "estimand": "ATE"},
    ),
}


def nonlinear_frame(seed: int, truth: float, n: int) -> pd.DataFrame:
    """Another confounded generator: treatment depends on x1, x2 and a binary x3; the
    control outcome is nonlinear in them (a square, an exponential) with noise whose SD grows
    with |x1|; the effect is ``truth`` for every unit. Columns as the simulator's
    (``revenue``, ``treated``)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    x3 = rng.binomial(1, 0.4, size=n)
    logit = -1.2 + 0.8 * x1 + 0.5 * x2 + 0.5 * x3
    treated = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    mu0 = 1 + 2 * x1 + np.exp(0.5 * x2) + x3 + 0.5 * x1**2
    y = mu0 + truth * treated + rng.normal(size=n) * (0.5 + np.abs(x1))
    return pd.DataFrame({"revenue": y, "treated": treated, "x1": x1, "x2": x2, "x3": x3})


def draw(design: Design, truth: float, r: int) -> tuple[pd.DataFrame, list[str]]:
    """Replicate ``r``'s data and the covariates to adjust for."""
    if design.generator == "nonlinear":
        return nonlinear_frame(
            design.base_seed + r, truth, design.n_products
        ), NONLINEAR_CONFOUNDERS
    config = SimulatorConfig(
        n_products=design.n_products,
        true_effect=truth,
        treatment_fraction=design.treatment_fraction,
        assignment="confounded",
        confounding_strength=design.confounding_strength,
    )
    return simulate(config, design.base_seed + r), CONFOUNDERS


def replicate(design: Design, r: int) -> dict[str, tuple[float, float, float, float]]:
    """(truth, estimate, CI lower, CI upper) per model, and the naive difference, for one draw."""
    truth = float(EFFECTS[r % len(EFFECTS)])
    frame, covariates = draw(design, truth, r)
    out = {}
    for label, (model, raw) in MODEL_PARAMS.items():
        model_class = MODELS.get(model)
        params = model_class.Params.model_validate({**raw, "covariate_columns": covariates})
        estimate = model_class().estimate(frame, params, 0)
        out[label] = (truth, estimate.effect, estimate.ci_lower, estimate.ci_upper)
    treated = frame["treated"] == 1
    naive = frame.loc[treated, "revenue"].mean() - frame.loc[~treated, "revenue"].mean()
    out["naive"] = (truth, float(naive), np.nan, np.nan)
    return out


def summarise(draws: np.ndarray) -> dict[str, Any]:
    """Bias, MC SE, coverage with its exact interval, width and SE calibration of
    ``draws`` (rows: truth, estimate, lower, upper)."""
    truth, estimate, lower, upper = draws.T
    errors = estimate - truth
    covered = int(((lower <= truth) & (truth <= upper)).sum())
    interval = stats.binomtest(covered, len(draws)).proportion_ci(0.95, method="exact")
    reported_se = (upper - lower) / (2 * stats.norm.ppf(0.975))
    return {
        "replicates": len(draws),
        "bias": float(errors.mean()),
        "bias_mc_se": float(errors.std(ddof=1) / np.sqrt(len(draws))),
        "coverage": covered / len(draws),
        "coverage_interval": [float(interval.low), float(interval.high)],
        "mean_ci_width": float((upper - lower).mean()),
        "se_over_sd": float(reported_se.mean() / errors.std(ddof=1)),
        "bias_over_mean_se": float(errors.mean() / reported_se.mean()),
    }


def run_design(design: Design, replicates: int) -> list[dict[str, Any]]:
    """One summary row per model for ``replicates`` draws of ``design``."""
    draws = [replicate(design, r) for r in range(replicates)]
    naive = np.array([d["naive"] for d in draws])
    naive_bias = float((naive[:, 1] - naive[:, 0]).mean())
    return [
        {
            "design": design.name,
            "model": label,
            **summarise(np.array([d[label] for d in draws])),
            "naive_bias": naive_bias,
        }
        for label in MODEL_PARAMS
    ]


def table_row(row: dict[str, Any]) -> list[Any]:
    low, high = row["coverage_interval"]
    return [
        row["design"],
        row["model"],
        row["replicates"],
        f"{row['bias']:+.3f} ± {row['bias_mc_se']:.3f}",
        f"{row['coverage']:.3f} [{low:.3f}, {high:.3f}]",
        f"{row['mean_ci_width']:.2f}",
        f"{row['se_over_sd']:.2f}",
        f"{row['bias_over_mean_se']:+.2f}",
        f"{row['naive_bias']:+.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=1, help="designs run in parallel")
    args = parser.parse_args()
    started = machine()
    rows = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for design, design_rows in zip(
            DESIGNS, pool.map(run_design, DESIGNS, [args.replicates] * len(DESIGNS)), strict=True
        ):
            rows += design_rows
            print(f"done: {design.name}", flush=True)
    print(markdown_table(HEADERS, [table_row(r) for r in rows]))
    method = f"{METHOD} replicates={args.replicates}, jobs={args.jobs}."
    print(write_result("measure_confounded", method, rows, started))


if __name__ == "__main__":
    main()
