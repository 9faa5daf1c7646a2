"""Bias and CI coverage of matching and subclassification on confounded simulator data.

Run: ``uv run python -m bench.measure_confounded [--replicates 200]``. Each design is the
simulator's confounded cross-section (``assignment: confounded``); replicate ``r`` draws
data with seed ``base + r`` and a true effect of 2 to 5 (cycling through seven values).
Per design and model: bias (mean estimate - truth) with its Monte Carlo SE, the share of
95 % CIs covering the truth with its exact binomial (Clopper-Pearson) interval, the mean
CI width, and the mean reported SE against the SD of the errors. Writes
``bench/results/measure_confounded.json``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import numpy as np
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
METHOD = (
    "Simulator cross-section with assignment: confounded; replicate r uses seed base + r and "
    "true effect EFFECTS[r % 7] (2 to 5). Model.estimate(frame, params, seed=0) per model; "
    "covariates baseline_revenue, log_baseline_revenue, price. Bias ± Monte Carlo SE "
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
    "naive bias",
]


@dataclass(frozen=True)
class Design:
    name: str
    n_products: int
    treatment_fraction: float
    confounding_strength: float
    base_seed: int


DESIGNS = [
    Design("pilot: 400 products, 30 % treated", 400, 0.3, 0.5, 10_000),
    Design("scale: 2,000 products, 30 % treated", 2_000, 0.3, 0.5, 20_000),
    Design("strong: 1,000 products, 20 % treated, strength 1.5", 1_000, 0.2, 1.5, 30_000),
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


def replicate(design: Design, r: int) -> dict[str, tuple[float, float, float, float]]:
    """(truth, estimate, CI lower, CI upper) per model, and the naive difference, for one draw."""
    truth = float(EFFECTS[r % len(EFFECTS)])
    config = SimulatorConfig(
        n_products=design.n_products,
        true_effect=truth,
        treatment_fraction=design.treatment_fraction,
        assignment="confounded",
        confounding_strength=design.confounding_strength,
    )
    frame = simulate(config, design.base_seed + r)
    out = {}
    for label, (model, raw) in MODEL_PARAMS.items():
        model_class = MODELS.get(model)
        estimate = model_class().estimate(frame, model_class.Params.model_validate(raw), 0)
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
        f"{row['naive_bias']:+.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    args = parser.parse_args()
    started = machine()
    rows = []
    for design in DESIGNS:
        rows += run_design(design, args.replicates)
        print(f"done: {design.name}", flush=True)
    print(markdown_table(HEADERS, [table_row(r) for r in rows]))
    method = f"{METHOD} replicates={args.replicates}."
    print(write_result("measure_confounded", method, rows, started))


if __name__ == "__main__":
    main()
