"""The columns a model reads, checked: missing values, types, coding and group sizes.

Every problem is a ``ConfigError`` naming ``MEASUREMENT.PARAMS.<param>`` (the user can fix
it) or a ``ComponentError`` (the data cannot support an estimate).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from impact_contracts import ComponentError, ConfigError

from impact_measure.models.base import PARAMS_PATH
from impact_measure.values import examples

MIN_SAMPLE_SIZE = 30


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
