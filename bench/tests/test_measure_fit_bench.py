"""The measure fit benchmark builds the sizes its table claims (no timing claims here)."""

from __future__ import annotations

from bench.measure_fit_bench import cases, time_fit


def test_cases_have_the_documented_sizes() -> None:
    sizes = {(model, data): len(build()) for model, data, build, _ in cases()}
    assert sizes == {
        ("experiment", "10k rows, 2 covariates"): 10_000,
        ("interrupted_time_series", "2 years daily, FGLS"): 731,
        ("interrupted_time_series", "2 years daily, fit: sarimax"): 731,
        ("synthetic_control", "30 units x 200 days"): 6_000,
        ("nearest_neighbour_matching", "5k rows, k=4"): 5_000,
        ("subclassification", "5k rows, data-driven blocks"): 5_000,
        ("metrics_approximation", "10k rows, 1000 bootstrap"): 10_000,
    }


def test_one_timed_fit_reports_its_estimate() -> None:
    model, _, build, raw = cases()[0]
    row = time_fit(model, build(), raw, repeats=1)
    assert row["min_s"] == row["median_s"] > 0
    assert row["ci"][0] <= row["effect"] <= row["ci"][1]
    assert abs(row["effect"] - 2.0) < 0.1  # the known effect of the benchmark data
