"""Per-model fit time of the measure models at realistic sizes (no Kafka, one process).

Run: ``uv run python -m bench.measure_fit_bench [--repeats 5]``. Each model's
``estimate`` runs ``repeats`` times on one seeded data set (after one untimed warm-up);
the table gives the median and the fastest wall time. Writes
``bench/results/measure_fit.json``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from impact_measure.models import MODELS
from impact_measure.models.base import ModelParams

from bench.machine import machine
from bench.results import markdown_table, write_result

METHOD = (
    "Model.estimate(frame, params, seed) on one seeded data set per model, in-process, after "
    "one untimed warm-up; median and minimum wall seconds of `repeats` runs "
    "(time.perf_counter). Data: cross-sections with a numeric and a 12-level text covariate "
    "and a known effect; a daily series with weekly seasonality and AR(1) noise; a "
    "30-unit daily factor-model panel with one treated unit."
)
HEADERS = ["model", "data", "rows", "median s", "min s", "effect", "CI"]


def cross_section(n: int, confounded: bool, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    category = rng.choice([f"c{i:02d}" for i in range(12)], size=n)
    shift = pd.Series(category).str[1:].astype(int).to_numpy() * 0.5
    logit = 0.8 * x + 0.1 * shift - 0.5 if confounded else np.zeros(n)
    treated = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    y = 2.0 * treated + x + shift + rng.normal(size=n)
    return pd.DataFrame(
        {"y": y, "t": treated, "x": x, "category": category, "base": y - 2.0 * treated + 1}
    )


def daily_series(days: int, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=days, freq="D")
    noise = np.zeros(days)
    shocks = rng.normal(size=days)
    for t in range(1, days):
        noise[t] = 0.5 * noise[t - 1] + shocks[t]
    weekly = np.resize([0.0, 1.0, 1.5, 1.0, 0.5, 3.0, 4.0], days)
    step = 2.0 * (np.arange(days) >= days - 60)
    return pd.DataFrame({"date": dates, "y": 50 + weekly + step + noise})


def panel(units: int, periods: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(periods, 3)).cumsum(axis=0) * 0.5
    loadings = rng.uniform(0.5, 1.5, size=(units, 3))
    loadings[0] = loadings[1:6].mean(axis=0)
    y = 20 + factors @ loadings.T + rng.normal(size=(periods, units))
    y[periods - 30 :, 0] += 5.0
    dates = pd.date_range("2024-01-01", periods=periods, freq="D")
    return pd.DataFrame(
        {
            "unit": np.tile([f"u{i:02d}" for i in range(units)], periods),
            "date": np.repeat(dates, units),
            "y": y.ravel(),
        }
    )


COVARIATES = {
    "outcome_column": "y",
    "treatment_column": "t",
    "covariate_columns": ["x", "category"],
}


def cases() -> list[tuple[str, str, Callable[[], pd.DataFrame], dict[str, Any]]]:
    """(model, description, data builder, PARAMS) at the sizes the table reports."""
    its = {"outcome_column": "y", "time_column": "date", "treatment_time": "2024-11-01"}
    sc = {
        "outcome_column": "y",
        "unit_column": "unit",
        "time_column": "date",
        "treated_unit": "u00",
        "treatment_time": str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=170)),
    }
    return [
        ("experiment", "10k rows, 2 covariates", lambda: cross_section(10_000, False), COVARIATES),
        ("interrupted_time_series", "2 years daily, FGLS", lambda: daily_series(731), its),
        (
            "interrupted_time_series",
            "2 years daily, fit: sarimax",
            lambda: daily_series(731),
            {**its, "fit": "sarimax"},
        ),
        ("synthetic_control", "30 units x 200 days", lambda: panel(30, 200), sc),
        (
            "nearest_neighbour_matching",
            "5k rows, k=4",
            lambda: cross_section(5_000, True),
            {**COVARIATES, "n_neighbors": 4},
        ),
        (
            "subclassification",
            "5k rows, data-driven blocks",
            lambda: cross_section(5_000, True),
            COVARIATES,
        ),
        (
            "metrics_approximation",
            "10k rows, 1000 bootstrap",
            lambda: cross_section(10_000, False),
            {"metric_column": "y", "baseline_column": "base", "response_coefficient": 1.5},
        ),
    ]


def time_fit(model: str, frame: pd.DataFrame, raw: dict[str, Any], repeats: int) -> dict[str, Any]:
    """Median and minimum seconds of ``repeats`` fits (after one warm-up)."""
    model_class = MODELS.get(model)
    params: ModelParams = model_class.Params.model_validate(raw)
    estimate = model_class().estimate(frame, params, 0)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        model_class().estimate(frame, params, 0)
        seconds.append(time.perf_counter() - started)
    return {
        "median_s": round(float(np.median(seconds)), 4),
        "min_s": round(min(seconds), 4),
        "effect": round(estimate.effect, 3),
        "ci": [round(estimate.ci_lower, 3), round(estimate.ci_upper, 3)],
    }


def benchmark(repeats: int) -> list[dict[str, Any]]:
    started = machine()
    rows = []
    for model, data, build, raw in cases():
        frame = build()
        row = {
            "model": model,
            "data": data,
            "rows": len(frame),
            **time_fit(model, frame, raw, repeats),
        }
        rows.append(row)
        print(f"{model} ({data}): median {row['median_s']} s")
    table = [
        [
            r["model"],
            r["data"],
            f"{r['rows']:,}",
            r["median_s"],
            r["min_s"],
            r["effect"],
            f"[{r['ci'][0]}, {r['ci'][1]}]",
        ]
        for r in rows
    ]
    print(markdown_table(HEADERS, table))
    path = write_result("measure_fit", f"{METHOD} repeats={repeats}.", rows, started)
    print(f"wrote {path}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    benchmark(parser.parse_args().repeats)


if __name__ == "__main__":
    main()
