"""CSV options (``csv``: separator, decimal comma, encoding) read a European CSV as the
standard one; a wrong option fails with one line naming the file and the option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from services.measure.tests.test_inputs import error, execute

ITS = {"outcome_column": "ventes", "time_column": "date", "treatment_time": "2024-02-15"}
EUROPEAN = {
    "csv": {"sep": ";", "decimal": ",", "encoding": "latin-1"},
    "date_columns": {"date": "%d/%m/%Y"},
}


@pytest.fixture
def csv_root(tmp_path: Path) -> Path:
    """One daily series as a standard CSV and as ``;``/decimal comma/latin-1/dd/mm/yyyy."""
    rng = np.random.default_rng(4)
    days = pd.date_range("2024-01-01", periods=60)
    sales = (
        10 + 0.05 * np.arange(60) + 2.5 * (days >= "2024-02-15") + rng.normal(scale=0.5, size=60)
    )
    standard = pd.DataFrame({"date": days, "ventes": sales.round(3), "région": "Zürich"})
    standard.to_csv(tmp_path / "standard.csv", index=False)
    european = standard.assign(date=days.strftime("%d/%m/%Y"))
    european.to_csv(tmp_path / "eu.csv", index=False, sep=";", decimal=",", encoding="latin-1")
    european.to_csv(tmp_path / "eu_utf8.csv", index=False, sep=";", decimal=",")
    return tmp_path


def test_csv_options_read_a_european_csv_as_the_standard_one(csv_root: Path) -> None:
    standard = execute(csv_root, "standard.csv", "interrupted_time_series", ITS)
    european = execute(csv_root, "eu.csv", "interrupted_time_series", ITS, config=EUROPEAN)
    assert european["effect_estimate"] == pytest.approx(standard["effect_estimate"], rel=1e-9)
    assert european["diagnostics"]["seasonal_period"] == 7  # the dates are daily dates


@pytest.mark.parametrize(
    ("path", "config", "expected"),
    [
        (
            "eu_utf8.csv",
            {},
            "DATA.SOURCE.CONFIG.csv.sep: eu_utf8.csv reads as one column 'date;ventes;région'; "
            "its separator looks like ';': set DATA.SOURCE.CONFIG.csv: {sep: ';'}",
        ),
        (
            "eu_utf8.csv",
            {"csv": {"sep": ";"}, "date_columns": {"date": "%d/%m/%Y"}},
            "eu_utf8.csv: MEASUREMENT.PARAMS.outcome_column: column 'ventes' must be numeric, "
            "got str ('9,674', '9,963', '10,932', ... (60 in all)); decimal commas? set "
            "DATA.SOURCE.CONFIG.csv: {decimal: ','}",
        ),
        (
            "eu.csv",
            {"csv": {"sep": ";", "decimal": ","}},
            "DATA.SOURCE.CONFIG.csv.encoding: eu.csv is not utf-8 (invalid continuation byte at "
            "byte 1); set DATA.SOURCE.CONFIG.csv: {encoding: latin-1} or the file's own",
        ),
        (
            "eu.csv",
            {"csv": {"sep": ";", "decimal": ",", "encoding": "latin-1"}},
            "eu.csv: MEASUREMENT.PARAMS.time_column: column 'date' cannot be read as dates (time "
            'data "13/01/2024" doesn\'t match format "%m/%d/%Y"); give its format in '
            "DATA.SOURCE.CONFIG.date_columns, e.g. {date: '%d/%m/%Y'}, or set "
            "MEASUREMENT.PARAMS.time_type: period",
        ),
        (
            "eu.csv",
            {**EUROPEAN, "date_columns": {"date": "%Y-%m-%d"}},
            "DATA.SOURCE.CONFIG.date_columns.date: column 'date' of eu.csv does not read as "
            "dates with format '%Y-%m-%d' ('01/01/2024', '02/01/2024', '03/01/2024', ... (60 in "
            'all)): time data "01/01/2024" doesn\'t match format "%Y-%m-%d"',
        ),
        (
            "eu.csv",
            {"csv": {"encoding": "latin-1x"}},
            "eu.csv: DATA.SOURCE.CONFIG.csv.encoding: Value error, unknown encoding 'latin-1x' "
            "(e.g. utf-8, latin-1, cp1252)",
        ),
    ],
)
def test_csv_problems_name_the_file_and_the_option(
    csv_root: Path, path: str, config: dict[str, Any], expected: str
) -> None:
    assert error(csv_root, path, "interrupted_time_series", ITS, config=config) == expected
