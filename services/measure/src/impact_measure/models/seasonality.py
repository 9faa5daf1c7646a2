"""The time index of an interrupted time series: its spacing (daily, weekly, monthly,
quarterly), the seasonal terms that follow from it, and the segmented-regression design
(constant, trend, step, seasonal terms)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

YEARLY_FREQUENCIES = ("weekly", "monthly", "quarterly")
WEEKS_PER_YEAR = 365.25 / 7
WEEKLY_HARMONICS = 3


@dataclass(frozen=True)
class Seasonality:
    """Seasonal terms of the design: ``period`` dummies or ``harmonics`` Fourier pairs."""

    frequency: str
    period: float | None
    harmonics: int | None
    source: str

    @property
    def terms(self) -> str:
        if self.period is None:
            return "none"
        if self.harmonics:
            return f"{self.harmonics} Fourier pairs of period {self.period:.2f}"
        return f"{int(self.period) - 1} dummies"


def time_frequency(index: pd.Index) -> str:
    """``daily``, ``weekly``, ``monthly``, ``quarterly``, or ``irregular``/``numeric``."""
    if pd.api.types.is_numeric_dtype(index):
        return "numeric"
    if len(index) < 3:
        return "irregular"
    try:
        dates = pd.DatetimeIndex(pd.to_datetime(index))
    except (TypeError, ValueError):
        return "irregular"
    days = dates.to_series().diff().iloc[1:].dt.days
    if (days == 1).all():
        return "daily"
    if (days == 7).all():
        return "weekly"
    for name, code, span in (("monthly", "M", (28, 31)), ("quarterly", "Q", (89, 92))):
        steps = np.diff(dates.to_period(code).asi8)
        if (steps == 1).all() and days.between(*span).all():
            return name
    return "irregular"


def seasonality(index: pd.Index, setting: str | int | None) -> Seasonality:
    """The seasonal terms to model and why (``auto``: from the spacing of the time column)."""
    frequency = time_frequency(index)
    if setting != "auto":
        fixed = setting if isinstance(setting, int) and setting >= 2 else None
        return Seasonality(
            frequency, fixed, None, "set in PARAMS" if fixed else "disabled in PARAMS"
        )
    choices: dict[str, tuple[float, int | None, str]] = {
        "daily": (7, None, "weekly seasonality"),
        "weekly": (WEEKS_PER_YEAR, WEEKLY_HARMONICS, "yearly seasonality"),
        "monthly": (12, None, "yearly seasonality"),
        "quarterly": (4, None, "yearly seasonality"),
    }
    if frequency not in choices:
        return Seasonality(frequency, None, None, f"auto: {frequency} time, no seasonal terms")
    period, harmonics, what = choices[frequency]
    if len(index) < 2 * period:
        return Seasonality(
            frequency, None, None, f"auto: {frequency} data shorter than two seasonal cycles"
        )
    return Seasonality(frequency, period, harmonics, f"auto: {frequency} data, {what}")


def design_matrix(length: int, post: np.ndarray, season: Seasonality) -> np.ndarray:
    """Columns: const, time scaled to [-1, 1], step, then the seasonal terms."""
    time = np.arange(length, dtype=float)
    centred = time - time.mean()
    columns = [
        np.ones(length),
        centred / max(1.0, float(np.abs(centred).max())),
        post.astype(float),
    ]
    if season.period and season.harmonics:
        angle = 2 * np.pi * np.outer(time, np.arange(1, season.harmonics + 1)) / season.period
        columns += [*np.sin(angle).T, *np.cos(angle).T]
    elif season.period:
        period = int(season.period)
        phase = np.arange(length) % period
        columns += [(phase == k).astype(float) for k in range(1, period)]
    return np.column_stack(columns)
