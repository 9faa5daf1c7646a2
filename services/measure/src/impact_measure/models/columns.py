"""The columns a model reads, checked: missing values, types, coding and group sizes.

Every problem is a ``ConfigError`` naming ``MEASUREMENT.PARAMS.<param>`` (the user can fix
it) or a ``ComponentError`` (the data cannot support an estimate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from impact_contracts import ComponentError, ConfigError

from impact_measure.models.base import PARAMS_PATH
from impact_measure.values import examples

MIN_SAMPLE_SIZE = 30
#: A text covariate with more levels is refused (each level is a dummy column).
MAX_CATEGORY_LEVELS = 100


def read_columns(params: Any) -> list[str]:
    """The data columns ``params`` names: every ``*_column`` and ``*_columns`` field."""
    names: list[str] = []
    for field_name in type(params).model_fields:
        value = getattr(params, field_name)
        if field_name.endswith("_column") and isinstance(value, str):
            names.append(value)
        elif field_name.endswith("_columns") and isinstance(value, list):
            names.extend(value)
    return list(dict.fromkeys(names))


def missing_mask(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """True where a cell of ``columns`` (those present) is missing, or infinite if numeric."""
    mask = {}
    for name in (c for c in columns if c in frame.columns):
        series = frame[name]
        bad = series.isna()
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            bad |= ~np.isfinite(series.to_numpy(dtype=float, na_value=np.nan))
        mask[name] = bad.to_numpy()
    return pd.DataFrame(mask, index=frame.index)


def handle_missing(
    frame: pd.DataFrame, params: Any, unit_column: str | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Apply ``params.missing`` to the columns the model reads.

    ``error``: raise with the row count per column; ``drop_rows``: drop incomplete rows;
    ``drop_units`` (panels, ``unit_column``): drop every unit with an incomplete row.
    Returns the kept rows and a ``diagnostics.missing`` record.
    """
    policy = params.missing
    mask = missing_mask(frame, read_columns(params))
    bad_rows = mask.any(axis=1).to_numpy()
    if not bad_rows.any():
        return frame, {"policy": policy, "rows_dropped": 0}
    by_column = {name: int(n) for name, n in mask.sum().items() if n}
    if policy == "error":
        counts = ", ".join(f"{name}: {n}" for name, n in by_column.items())
        options = "drop_rows or drop_units" if unit_column else "drop_rows"
        raise ConfigError(
            f"{PARAMS_PATH}.missing: {int(bad_rows.sum())} of {len(frame)} rows have missing or "
            f"infinite values ({counts}); fix the data or set {PARAMS_PATH}.missing: {options}"
        )
    record: dict[str, Any] = {"policy": policy, "missing_by_column": by_column}
    keep = ~bad_rows
    if policy == "drop_units" and unit_column is not None:
        units = frame[unit_column]
        dropped = units[bad_rows].dropna().unique()
        keep = ~units.isin(dropped).to_numpy() & units.notna().to_numpy()
        record["units_dropped"] = sorted(str(u) for u in dropped)
    record["rows_dropped"] = int((~keep).sum())
    return frame.loc[keep], record


def require_column(frame: pd.DataFrame, name: str, param: str) -> pd.Series:
    """``frame[name]``, or ``ConfigError`` naming ``MEASUREMENT.PARAMS.<param>``."""
    if name not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        hint = ""
        if param == "unit_column":
            hint = (
                "; if the data are a wide panel (one column per unit), add DATA.TRANSFORM "
                "{FUNCTION: wide_to_long, PARAMS: {id_columns: [<time column>], "
                f"unit_column: {name}, value_column: <outcome>}}}}"
            )
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} not in data (columns: {columns}){hint}"
        )
    return frame[name]


def numeric_column(frame: pd.DataFrame, name: str, param: str) -> np.ndarray:
    """A float array of column ``name``; non-numeric data or missing values are errors."""
    series = require_column(frame, name, param)
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} must be numeric, got {series.dtype} "
            f"({examples(series, 3)}){_decimal_comma_hint(series)}"
        )
    values = series.to_numpy(dtype=float)
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} has {bad} missing/infinite values "
            f"in {len(values)} rows"
        )
    return values


def require_varying_outcome(frame: pd.DataFrame, params: Any) -> None:
    """A model's ``outcome_column`` must vary: a constant one carries no information, and
    estimators would return an effect with a CI of rounding noise (±1e-11).

    Raises:
        ComponentError: naming ``MEASUREMENT.PARAMS.outcome_column`` and the column.
    """
    name = getattr(params, "outcome_column", None)
    if name is None:
        return
    series = require_column(frame, name, "outcome_column")
    if not pd.api.types.is_numeric_dtype(series):
        numeric_column(frame, name, "outcome_column")  # raises: must be numeric
    values = series.to_numpy(dtype=float, na_value=np.nan)
    values = values[np.isfinite(values)]
    if len(values) and np.ptp(values) <= 1e-12 * max(1.0, float(np.abs(values).max())):
        raise ComponentError(
            f"{PARAMS_PATH}.outcome_column: column {name!r} is constant (every row is "
            f"{values[0]:g}): nothing to estimate an effect from"
        )


def _decimal_comma_hint(series: pd.Series) -> str:
    """A hint when text such as ``'1,5'`` would be numbers with a decimal comma."""
    text = series.dropna().astype(str).head(100)
    as_numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    if len(text) and text.str.contains(",", regex=False).any() and as_numbers.notna().all():
        return "; decimal commas? set DATA.SOURCE.CONFIG.csv: {decimal: ','}"
    return ""


TREATMENT_VALUES_HINT = (
    f"map its values with {PARAMS_PATH}.treatment_values: {{treated: [...], control: [...]}}"
)


def binary_column(frame: pd.DataFrame, name: str, param: str) -> np.ndarray:
    """A 0/1 integer array of column ``name`` (booleans accepted).

    Text or other codes (e.g. ``"treatment"``/``"control"``, 1/2) are refused with a hint to
    map them with ``treatment_values`` (applied before the model, ``impact_measure.inputs``).
    """
    series = require_column(frame, name, param)
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} must be numeric 0/1, got {series.dtype} "
            f"({examples(series)}); {TREATMENT_VALUES_HINT}"
        )
    values = numeric_column(frame, name, param)
    if not np.isin(values, (0.0, 1.0)).all():
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} must contain only 0/1, got "
            f"{examples(pd.Series(values))}; {TREATMENT_VALUES_HINT}"
        )
    return values.astype(int)


def covariate_matrix(frame: pd.DataFrame, names: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """An ``n x k`` float matrix of the covariates, and how each was coded.

    Numeric and boolean columns are used as they are. Text and categorical columns are
    dummy-coded (``pandas.get_dummies``) against a baseline level: the most frequent one,
    ties broken by sort order.
    """
    blocks, coding = [], {}
    for i, name in enumerate(names):
        param = f"covariate_columns[{i}]"
        series = require_column(frame, name, param)
        refuse_dates(series, name, param)
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            blocks.append(numeric_column(frame, name, param)[:, None])
            coding[name] = {"type": "numeric"}
        else:
            dummies, coding[name] = dummy_coded(series, name, param)
            blocks.append(dummies)
    matrix = np.column_stack(blocks) if blocks else np.empty((len(frame), 0))
    return matrix, coding


def refuse_dates(series: pd.Series, name: str, param: str) -> None:
    """A date is not a covariate: as text it would become one dummy per day.

    Raises:
        ConfigError: ``series`` holds datetimes, or text whose values all read as dates.
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        kind = f"dates ({series.dtype})"
    elif pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return
    else:
        sample = pd.Series(pd.unique(series.dropna().astype(str)))[:50]
        if sample.empty or not sample.str.contains(r"\d", regex=True).all():
            return
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        if parsed.isna().any():
            return
        kind = f"text dates (e.g. {sample.iloc[0]!r})"
    raise ConfigError(
        f"{PARAMS_PATH}.{param}: column {name!r} holds {kind}; a date is not a covariate "
        "(each day would become a dummy): use a number derived from it (a year, a day index) "
        "or leave it out"
    )


def dummy_coded(series: pd.Series, name: str, param: str) -> tuple[np.ndarray, dict[str, Any]]:
    """0/1 columns for every level but the baseline (the most frequent; ties: first sorted)."""
    labels = series.astype(str)
    counts = labels.value_counts()
    most_levels = min(len(series) // 2, MAX_CATEGORY_LEVELS)
    if len(counts) > most_levels:
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} must be numeric or a category with at "
            f"most {most_levels} levels in {len(series)} rows; got {series.dtype} with "
            f"{len(counts)} distinct values (an identifier?)"
        )
    levels = sorted(counts.index)
    baseline = min(levels, key=lambda level: (-counts[level], level))
    ordered = pd.Categorical(labels, categories=[baseline, *(v for v in levels if v != baseline)])
    dummies = pd.get_dummies(ordered, prefix=name, prefix_sep="=", drop_first=True, dtype=float)
    coding = {
        "type": "categorical",
        "levels": levels,
        "baseline": baseline,
        "columns": [str(c) for c in dummies.columns],
    }
    return dummies.to_numpy(), coding


def observation_counts(frame: pd.DataFrame, count_column: str | None) -> np.ndarray:
    """Unit-level observations behind each row: 1 each, or the ``count_column`` values."""
    if count_column is None:
        return np.ones(len(frame))
    counts = numeric_column(frame, count_column, "count_column")
    if (counts <= 0).any():
        raise ConfigError(f"{PARAMS_PATH}.count_column: column {count_column!r} must be > 0")
    return counts


def require_sample_size(n: int, what: str) -> None:
    """Results need at least 30 analysis rows."""
    if n < MIN_SAMPLE_SIZE:
        raise ComponentError(
            f"too few {what} for a measurement: {n} < {MIN_SAMPLE_SIZE}; supply more data"
        )


def require_groups(n_treated: int, n_control: int, minimum: int = 2) -> None:
    """Both arms need at least ``minimum`` units."""
    if n_treated < minimum or n_control < minimum:
        raise ComponentError(
            f"need at least {minimum} treated and {minimum} control units "
            f"(got {n_treated} treated, {n_control} control)"
        )


@dataclass(frozen=True)
class CrossSection:
    """A cross-section model's checked inputs: the kept rows, their outcome, 0/1 treatment
    and covariate matrix (text covariates dummy-coded as ``coding`` says)."""

    frame: pd.DataFrame
    missing: dict[str, Any]
    y: np.ndarray
    treated: np.ndarray
    covariates: np.ndarray
    coding: dict[str, Any]

    @property
    def n_treated(self) -> int:
        return int(self.treated.sum())

    @property
    def n_control(self) -> int:
        return len(self.y) - self.n_treated


def cross_section(frame: pd.DataFrame, params: Any) -> CrossSection:
    """``outcome_column``, ``treatment_column`` and ``covariate_columns`` of ``frame`` after
    the missing-value policy, with at least the minimum rows and two units per arm."""
    frame, missing = handle_missing(frame, params)
    y = numeric_column(frame, params.outcome_column, "outcome_column")
    treated = binary_column(frame, params.treatment_column, "treatment_column")
    covariates, coding = covariate_matrix(frame, params.covariate_columns)
    data = CrossSection(frame, missing, y, treated, covariates, coding)
    require_sample_size(len(y), "rows")
    require_groups(data.n_treated, data.n_control)
    return data
