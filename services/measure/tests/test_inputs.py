"""Data as it comes: each input friction works, or fails with one line naming the data file
and the key path (docs/measure.md, "Inputs")."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from impact_contracts import ConfigError
from impact_measure import Estimate, Measure
from impact_measure.models.experiment import Experiment
from statsmodels.tools.sm_exceptions import ConvergenceWarning

YEARS = np.arange(1970, 2010)
TREATMENT_TEXT = {"treated": ["treatment", "yes"], "control": ["control", "no"]}


def execute(root: Path, path: str, model: str, params: dict[str, Any], **data: Any) -> dict:
    """Measure ``root/path`` through the component (file source, defaults otherwise)."""
    config = {
        "DATA": {
            "SOURCE": {"type": "file", "CONFIG": {"path": path, **data.pop("config", {})}},
            **data,
        },
        "MEASUREMENT": {"MODEL": model, "PARAMS": params},
    }
    component = Measure(data_root=str(root), cache=False)
    return component.execute({"initiative_id": "inputs", "measure_config": config})


def error(root: Path, path: str, model: str, params: dict[str, Any], **data: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        execute(root, path, model, params, **data)
    return str(caught.value)


def ab_test(n: int = 200, seed: int = 1) -> pd.DataFrame:
    """An A/B test with effect 3, the arm as text, and a date column."""
    rng = np.random.default_rng(seed)
    treated = rng.permutation(np.repeat([0, 1], n // 2))
    return pd.DataFrame(
        {
            "y": 3.0 * treated + rng.normal(size=n),
            "t": treated,
            "group": np.where(treated == 1, "treatment", "control"),
            "x": rng.normal(size=n),
            "day": pd.date_range("2024-01-01", periods=n),
        }
    )


def yearly_panel(seed: int = 2, effect: float = -10.0) -> pd.DataFrame:
    """Units 1.0..20.0 (stored as floats) by year 1970-2009; unit 17 treated from 1989."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(size=len(YEARS)).cumsum()
    loadings, levels = rng.uniform(0.5, 1.5, size=20), rng.normal(50.0, 5.0, size=20)
    loadings[16], levels[16] = loadings[:5].mean(), levels[:5].mean()
    frames = []
    for i in range(20):
        sales = levels[i] + loadings[i] * factor + rng.normal(scale=0.5, size=len(YEARS))
        if i == 16:
            sales = sales + effect * (YEARS >= 1989)
        frames.append(pd.DataFrame({"state": float(i + 1), "year": YEARS, "cigsale": sales}))
    return pd.concat(frames, ignore_index=True)


SC = {
    "outcome_column": "cigsale",
    "unit_column": "state",
    "time_column": "year",
    "treatment_time": "1989",
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ab_test().to_csv(tmp_path / "ab.csv", index=False)
    yearly_panel().to_csv(tmp_path / "panel.csv", index=False)
    return tmp_path


# --- treatment values ---------------------------------------------------------------------


def test_text_treatment_without_a_mapping_says_how_to_map_it(root: Path) -> None:
    params = {"outcome_column": "y", "treatment_column": "group"}
    assert error(root, "ab.csv", "experiment", params) == (
        "ab.csv: MEASUREMENT.PARAMS.treatment_column: column 'group' must be numeric 0/1, got "
        "str ('control', 'treatment'); map its values with MEASUREMENT.PARAMS.treatment_values: "
        "{treated: [...], control: [...]}"
    )


@pytest.mark.parametrize("model", ["experiment", "nearest_neighbour_matching", "subclassification"])
def test_treatment_values_map_text_like_the_numeric_column(root: Path, model: str) -> None:
    numeric = {"outcome_column": "y", "treatment_column": "t", "covariate_columns": ["x"]}
    mapped = {**numeric, "treatment_column": "group", "treatment_values": TREATMENT_TEXT}
    by_text = execute(root, "ab.csv", model, mapped)
    by_number = execute(root, "ab.csv", model, numeric)
    assert by_text["effect_estimate"] == pytest.approx(by_number["effect_estimate"], rel=1e-12)
    assert (by_text["n_treated"], by_text["n_control"]) == (100, 100)


def test_treatment_values_must_cover_every_value(root: Path) -> None:
    params = {
        "outcome_column": "y",
        "treatment_column": "group",
        "treatment_values": {"treated": ["treatment"], "control": ["ctrl"]},
    }
    assert error(root, "ab.csv", "experiment", params) == (
        "ab.csv: MEASUREMENT.PARAMS.treatment_values: column 'group' has values listed neither "
        "as treated nor as control: 'control' (100 rows); list them, or drop those rows with "
        "DATA.TRANSFORM filter_rows"
    )


def test_codes_other_than_0_1_point_to_treatment_values(root: Path) -> None:
    ab_test().assign(arm=lambda f: f["t"] + 1).to_csv(root / "coded.csv", index=False)
    params: dict[str, Any] = {"outcome_column": "y", "treatment_column": "arm"}
    assert error(root, "coded.csv", "experiment", params) == (
        "coded.csv: MEASUREMENT.PARAMS.treatment_column: column 'arm' must contain only 0/1, "
        "got 1.0, 2.0; map its values with MEASUREMENT.PARAMS.treatment_values: "
        "{treated: [...], control: [...]}"
    )
    params["treatment_values"] = {"treated": ["2"], "control": [1]}
    assert execute(root, "coded.csv", "experiment", params)["n_treated"] == 100


def test_input_keys_a_model_cannot_use_are_refused(root: Path) -> None:
    its = {"outcome_column": "y", "time_column": "day", "treatment_time": "2024-04-01"}
    assert error(
        root, "ab.csv", "interrupted_time_series", {**its, "treatment_values": TREATMENT_TEXT}
    ) == ("ab.csv: MEASUREMENT.PARAMS.treatment_values: this model reads no treatment_column")
    experiment = {"outcome_column": "y", "treatment_column": "t", "time_type": "period"}
    assert error(root, "ab.csv", "experiment", experiment) == (
        "ab.csv: MEASUREMENT.PARAMS.time_type: this model reads no time_column"
    )


# --- time types ---------------------------------------------------------------------------


def test_a_quoted_year_is_a_period_when_the_time_column_holds_numbers(root: Path) -> None:
    rng = np.random.default_rng(3)
    sales = 100 - 0.5 * (YEARS - 1970) - 10.0 * (YEARS >= 1989) + rng.normal(size=len(YEARS))
    pd.DataFrame({"year": YEARS, "sales": sales}).to_csv(root / "yearly.csv", index=False)
    params = {"outcome_column": "sales", "time_column": "year", "treatment_time": "1989"}
    result = execute(root, "yearly.csv", "interrupted_time_series", params)
    assert (result["n_pre"], result["n_post"]) == (19, 21)
    assert result["ci_lower"] < -10.0 < result["ci_upper"]
    as_text = pd.DataFrame({"year": YEARS.astype(str), "sales": sales})
    as_text.to_csv(root / "yearly_text.csv", index=False)
    explicit = {**params, "time_type": "period", "treatment_time": 1989}
    again = execute(root, "yearly_text.csv", "interrupted_time_series", explicit)
    assert again["effect_estimate"] == pytest.approx(result["effect_estimate"], rel=1e-9)


def test_time_types_that_do_not_fit_the_data_are_named(root: Path) -> None:
    params = {**SC, "treated_unit": 17}
    assert error(root, "panel.csv", "synthetic_control", {**params, "time_type": "date"}) == (
        "panel.csv: MEASUREMENT.PARAMS.time_column: column 'year' holds numbers (1970, 1971, "
        "1972, ... (40 in all)), not dates; set MEASUREMENT.PARAMS.time_type: period"
    )
    assert error(
        root, "panel.csv", "synthetic_control", {**params, "treatment_time": "1989-01-01"}
    ) == (
        "panel.csv: MEASUREMENT.PARAMS.treatment_time: '1989-01-01' is not a number, but "
        "time_column holds numbered periods; write a period such as 1989, or set "
        "MEASUREMENT.PARAMS.time_type: date"
    )
    assert error(
        root,
        "ab.csv",
        "interrupted_time_series",
        {"outcome_column": "y", "time_column": "group", "treatment_time": 3, "time_type": "period"},
    ) == (
        "ab.csv: MEASUREMENT.PARAMS.time_column: column 'group' must hold period numbers with "
        "time_type: period, got 'control', 'treatment'; set MEASUREMENT.PARAMS.time_type: date "
        "for dates"
    )


# --- unit ids -----------------------------------------------------------------------------


@pytest.mark.parametrize("treated_unit", ["17", 17, "17.0"])
def test_treated_unit_matches_float_unit_ids_by_value(root: Path, treated_unit: Any) -> None:
    result = execute(root, "panel.csv", "synthetic_control", {**SC, "treated_unit": treated_unit})
    assert (result["n_control"], result["n_pre"], result["n_post"]) == (19, 19, 21)
    assert result["ci_lower"] < -10.0 < result["ci_upper"]


def test_an_unknown_treated_unit_lists_the_units(root: Path) -> None:
    assert error(root, "panel.csv", "synthetic_control", {**SC, "treated_unit": "71"}) == (
        "panel.csv: MEASUREMENT.PARAMS.treated_unit: unit '71' not in column 'state' (units: "
        "1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, ... (20 in all))"
    )


# --- wide panels and row filters ----------------------------------------------------------

MELT = {
    "FUNCTION": "wide_to_long",
    "PARAMS": {"id_columns": ["year"], "unit_column": "state", "value_column": "cigsale"},
}
NO_AGGREGATE = {"FUNCTION": "filter_rows", "PARAMS": {"column": "state", "exclude": ["US"]}}


@pytest.fixture
def wide_root(root: Path) -> Path:
    """The panel with one column per unit (``s1`` ... ``s20``) and a national mean ``US``."""
    wide = yearly_panel().pivot(index="year", columns="state", values="cigsale")
    wide.columns = [f"s{int(unit)}" for unit in wide.columns]
    wide.assign(US=wide.mean(axis=1)).reset_index().to_csv(root / "wide.csv", index=False)
    return root


def test_a_wide_panel_without_a_transform_says_which_shape_is_expected(wide_root: Path) -> None:
    message = error(wide_root, "wide.csv", "synthetic_control", {**SC, "treated_unit": "s17"})
    assert message.startswith(
        "wide.csv: MEASUREMENT.PARAMS.unit_column: column 'state' not in data (columns: year, "
        "s1, s2,"
    )
    assert message.endswith(
        "s20, US); if the data are a wide panel (one column per unit), add DATA.TRANSFORM "
        "{FUNCTION: wide_to_long, PARAMS: {id_columns: [<time column>], unit_column: state, "
        "value_column: <outcome>}}"
    )


def test_a_wide_panel_melted_with_the_aggregate_excluded_is_the_long_panel(
    wide_root: Path,
) -> None:
    params = {**SC, "treated_unit": "s17"}
    wide = execute(
        wide_root, "wide.csv", "synthetic_control", params, TRANSFORM=[MELT, NO_AGGREGATE]
    )
    long = execute(wide_root, "panel.csv", "synthetic_control", {**SC, "treated_unit": 17})
    assert wide["n_control"] == 19 and "US" not in wide["diagnostics"]["weights"]
    assert wide["effect_estimate"] == pytest.approx(long["effect_estimate"], rel=1e-9)
    with_aggregate = execute(wide_root, "wide.csv", "synthetic_control", params, TRANSFORM=MELT)
    assert with_aggregate["n_control"] == 20


def test_filter_rows_keeps_values_matched_by_value_and_names_its_step(wide_root: Path) -> None:
    keep = {
        "FUNCTION": "filter_rows",
        "PARAMS": {"column": "state", "values": [f"{u}" for u in range(1, 21)]},
    }
    result = execute(
        wide_root, "panel.csv", "synthetic_control", {**SC, "treated_unit": 17}, TRANSFORM=keep
    )
    assert result["n_control"] == 19
    typo = {"FUNCTION": "filter_rows", "PARAMS": {"column": "states", "exclude": ["US"]}}
    assert error(
        wide_root,
        "wide.csv",
        "synthetic_control",
        {**SC, "treated_unit": "s17"},
        TRANSFORM=[MELT, typo],
    ) == (
        "wide.csv: DATA.TRANSFORM[1].PARAMS.column: column 'states' not in data (columns: year, "
        "state, cigsale)"
    )


# --- warnings, dates as covariates ---------------------------------------------------------


def test_library_warnings_go_to_diagnostics_not_stderr(
    root: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    original = Experiment.estimate

    def noisy(self: Experiment, frame: pd.DataFrame, params: Any, seed: int) -> Estimate:
        """The experiment, plus a statsmodels and a numpy warning and one of its own."""
        message = "Maximum Likelihood optimization failed to converge"
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
        np.log(np.zeros(1))  # RuntimeWarning: divide by zero
        estimate = original(self, frame, params, seed)
        own = {**estimate.diagnostics, "warnings": ["the model's own warning"]}
        return dataclasses.replace(estimate, diagnostics=own)

    monkeypatch.setattr(Experiment, "estimate", noisy)
    result = execute(root, "ab.csv", "experiment", {"outcome_column": "y", "treatment_column": "t"})
    assert result["diagnostics"]["warnings"] == [
        "the model's own warning",
        "ConvergenceWarning: Maximum Likelihood optimization failed to converge",
        "RuntimeWarning: divide by zero encountered in log",
    ]
    assert capfd.readouterr().err == ""


def test_a_run_without_warnings_has_none(root: Path, capfd: pytest.CaptureFixture[str]) -> None:
    result = execute(root, "ab.csv", "experiment", {"outcome_column": "y", "treatment_column": "t"})
    assert "warnings" not in result["diagnostics"]
    assert capfd.readouterr().err == ""


def test_a_date_covariate_is_refused(root: Path) -> None:
    params = {"outcome_column": "y", "treatment_column": "t", "covariate_columns": ["x", "day"]}
    assert error(root, "ab.csv", "experiment", params) == (
        "ab.csv: MEASUREMENT.PARAMS.covariate_columns[1]: column 'day' holds text dates (e.g. "
        "'2024-01-01'); a date is not a covariate (each day would become a dummy): use a number "
        "derived from it (a year, a day index) or leave it out"
    )
    parquet = root / "ab.parquet"
    ab_test().to_parquet(parquet)
    assert error(root, "ab.parquet", "nearest_neighbour_matching", params) == (
        "ab.parquet: MEASUREMENT.PARAMS.covariate_columns[1]: column 'day' holds dates "
        "(datetime64[us]); a date is not a covariate (each day would become a dummy): use a "
        "number derived from it (a year, a day index) or leave it out"
    )


def test_a_category_with_more_than_100_levels_is_refused(root: Path) -> None:
    frame = ab_test(n=1000).assign(shop=lambda f: [f"shop-{i % 101}" for i in range(len(f))])
    frame.to_csv(root / "shops.csv", index=False)
    params = {"outcome_column": "y", "treatment_column": "t", "covariate_columns": ["shop"]}
    assert error(root, "shops.csv", "experiment", params) == (
        "shops.csv: MEASUREMENT.PARAMS.covariate_columns[0]: column 'shop' must be numeric or a "
        "category with at most 100 levels in 1000 rows; got str with 101 distinct values (an "
        "identifier?)"
    )
