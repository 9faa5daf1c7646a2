"""A cross-section model's inputs: the outcome, the 0/1 treatment and the covariates as a
float matrix (numeric columns as they are, text and categories dummy-coded against their
most frequent level, dates refused: a date is not a covariate)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from impact_contracts import ConfigError

from impact_measure.models.base import PARAMS_PATH
from impact_measure.models.columns import (
    binary_column,
    handle_missing,
    numeric_column,
    require_column,
    require_groups,
    require_sample_size,
)

#: A text covariate with more levels is refused (each level is a dummy column).
MAX_CATEGORY_LEVELS = 100


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
