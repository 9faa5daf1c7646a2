"""Before the model: treatment values, time types and unit ids, read the same way for every
model (``MEASUREMENT.PARAMS.treatment_values``, ``time_type``, ``treated_unit``)."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pandas as pd
from impact_contracts import ConfigError

from impact_measure.config import InputParams
from impact_measure.models.base import PARAMS_PATH
from impact_measure.models.columns import require_column
from impact_measure.values import examples, find_value, matches, short_reason

P = TypeVar("P", bound=InputParams)


def prepare(frame: pd.DataFrame, params: P) -> tuple[pd.DataFrame, P]:
    """``frame`` with the treatment column mapped to 1/0 and the time column typed, and
    ``params`` with ``treated_unit`` replaced by the unit id as stored in the data."""
    frame = map_treatment(frame, params)
    frame = typed_time(frame, params)
    return frame, with_stored_unit(frame, params)


def map_treatment(frame: pd.DataFrame, params: InputParams) -> pd.DataFrame:
    """``treatment_column`` as 1.0 (treated), 0.0 (control) or missing, per ``treatment_values``.

    Raises:
        ConfigError: the model has no treatment column, a value is listed on both sides, or a
            value of the column is listed on neither.
    """
    spec = params.treatment_values
    if spec is None:
        return frame
    key = f"{PARAMS_PATH}.treatment_values"
    name = getattr(params, "treatment_column", None)
    if name is None:
        raise ConfigError(f"{key}: this model reads no treatment_column")
    column = require_column(frame, name, "treatment_column")
    treated, control = matches(column, spec.treated), matches(column, spec.control)
    if (treated & control).any():
        both = examples(column[treated & control])
        raise ConfigError(f"{key}: {both} listed as both treated and control")
    unlisted = column.notna().to_numpy() & ~treated & ~control
    if unlisted.any():
        raise ConfigError(
            f"{key}: column {name!r} has values listed neither as treated nor as control: "
            f"{examples(column[unlisted])} ({int(unlisted.sum())} rows); list them, or drop "
            "those rows with DATA.TRANSFORM filter_rows"
        )
    mapped = np.where(treated, 1.0, np.where(control, 0.0, np.nan))
    return frame.assign(**{name: mapped})


def typed_time(frame: pd.DataFrame, params: InputParams) -> pd.DataFrame:
    """``time_column`` as numbers (``time_type: period``) or datetimes (``date``).

    ``auto``: numeric columns and numeric text are periods, datetime columns and other text
    are dates.

    Raises:
        ConfigError: a value that is not of the type, naming the column and an example.
    """
    name = getattr(params, "time_column", None)
    if name is None:
        if params.time_type != "auto":
            raise ConfigError(f"{PARAMS_PATH}.time_type: this model reads no time_column")
        return frame
    column = require_column(frame, name, "time_column")
    kind = params.time_type
    if kind == "auto":
        kind = "period" if _reads_as_numbers(column) else "date"
    if kind == "period":
        return frame.assign(**{name: _periods(column, name)})
    return frame.assign(**{name: _dates(column, name)})


def _reads_as_numbers(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return False
    if pd.api.types.is_numeric_dtype(column):
        return True
    present = column.dropna()
    return bool(len(present)) and bool(pd.to_numeric(present, errors="coerce").notna().all())


def _periods(column: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column
    numbers = pd.to_numeric(column, errors="coerce")
    bad = column.notna() & numbers.isna()
    if bad.any():
        raise ConfigError(
            f"{PARAMS_PATH}.time_column: column {name!r} must hold period numbers with "
            f"time_type: period, got {examples(column[bad], 3)}; set {PARAMS_PATH}.time_type: "
            "date for dates"
        )
    return numbers


def _dates(column: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    if pd.api.types.is_numeric_dtype(column):
        raise ConfigError(
            f"{PARAMS_PATH}.time_column: column {name!r} holds numbers ({examples(column, 3)}), "
            f"not dates; set {PARAMS_PATH}.time_type: period"
        )
    try:
        return pd.to_datetime(column)
    except (TypeError, ValueError) as exc:
        reason = short_reason(exc)
        raise ConfigError(
            f"{PARAMS_PATH}.time_column: column {name!r} cannot be read as dates ({reason}); "
            "give its format in DATA.SOURCE.CONFIG.date_columns, e.g. "
            f"{{{name}: '%d/%m/%Y'}}, or set {PARAMS_PATH}.time_type: period"
        ) from None


def with_stored_unit(frame: pd.DataFrame, params: P) -> P:
    """``params`` whose ``treated_unit`` is the id as stored (``"17"`` → 17.0 in a float column).

    Raises:
        ConfigError: no unit of ``unit_column`` equals ``treated_unit`` by value.
    """
    unit = getattr(params, "treated_unit", None)
    name = getattr(params, "unit_column", None)
    if unit is None or name is None:
        return params
    column = require_column(frame, name, "unit_column")
    stored = find_value(column, unit)
    if stored is None:
        raise ConfigError(
            f"{PARAMS_PATH}.treated_unit: unit {unit!r} not in column {name!r} "
            f"(units: {examples(column, 8)})"
        )
    return params.model_copy(update={"treated_unit": stored})
