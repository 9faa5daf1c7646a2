"""What the time-based models share: which periods are after ``treatment_time``.

``impact_measure.inputs`` has already typed ``time_column`` (numbers for periods, datetimes
for dates, per ``time_type``); here ``treatment_time`` is read as the same type.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from impact_contracts import ConfigError

from impact_measure.models.base import PARAMS_PATH

KEY = f"{PARAMS_PATH}.treatment_time"


def as_period(treatment_time: Any) -> float:
    """``treatment_time`` as a period number (``"1989"`` → 1989.0)."""
    try:
        return float(treatment_time)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{KEY}: {treatment_time!r} is not a number, but time_column holds numbered periods; "
            f"write a period such as 1989, or set {PARAMS_PATH}.time_type: date"
        ) from None


def as_date(treatment_time: Any) -> pd.Timestamp:
    """``treatment_time`` as a date (an integer is a year: 1989 → 1989-01-01)."""
    text = str(treatment_time)
    try:
        return pd.Timestamp(text)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{KEY}: {treatment_time!r} is not a date, but time_column holds dates; write a date "
            f"such as '2024-03-01', or set {PARAMS_PATH}.time_type: period"
        ) from None


def post_indicator(index: pd.Index, treatment_time: Any) -> np.ndarray:
    """True for the periods of ``index`` at or after ``treatment_time``.

    Raises:
        ConfigError: ``treatment_time`` cannot be read as the type of the time column.
    """
    if not (pd.api.types.is_datetime64_any_dtype(index) or pd.api.types.is_numeric_dtype(index)):
        try:
            index = pd.DatetimeIndex(pd.to_datetime(index))
        except (TypeError, ValueError):
            raise ConfigError(
                f"{KEY}: time_column holds {index.dtype} values that are neither numbers nor "
                f"dates; set {PARAMS_PATH}.time_type (period or date)"
            ) from None
    if pd.api.types.is_datetime64_any_dtype(index):
        start = as_date(treatment_time)
        if getattr(index, "tz", None) is not None and start.tzinfo is None:
            start = start.tz_localize(index.tz)
        return np.asarray(index >= start)
    return np.asarray(index >= as_period(treatment_time))
