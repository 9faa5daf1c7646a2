"""The synthetic control's inputs: its PARAMS, the periods x units panel of mean outcomes
built from the rows (missing values, never-treated donors, ``count_column`` weights) and
the predictor means (``predictors``), each checked with a ``ConfigError`` naming the key."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from impact_contracts import ComponentError, ConfigError
from pydantic import Field

from impact_measure.config import Section
from impact_measure.models.base import PARAMS_PATH, ModelParams
from impact_measure.models.columns import (
    handle_missing,
    missing_mask,
    numeric_column,
    observation_counts,
    read_columns,
    require_column,
)

TimeValue = str | int | float


class Predictor(Section):
    """A predictor: the mean of ``column`` per unit over ``periods`` (time values), or over
    ``start``..``end`` (inclusive), or over the whole pre period when neither is given."""

    column: str
    periods: list[TimeValue] | None = None
    start: TimeValue | None = None
    end: TimeValue | None = None


class SyntheticControlParams(ModelParams):
    outcome_column: str
    unit_column: str
    time_column: str
    treated_unit: str | int
    treatment_time: TimeValue
    treatment_column: str | None = None
    intercept: bool | Literal["auto"] = "auto"
    predictors: list[Predictor] = Field(default_factory=list)
    ci_method: Literal["placebo", "conformal"] = "placebo"
    conformal_permutations: Literal["iid", "moving_block"] = "iid"
    n_permutations: int = Field(default=999, ge=99, le=100_000)
    conformal_statistic: Literal["mean", "mean_abs"] = "mean"
    permutation_seed: int = Field(default=0, ge=0)
    count_column: str | None = None
    missing: Literal["error", "drop_rows", "drop_units"] = "drop_units"  # type: ignore[assignment]


def split_predictors(x_all: np.ndarray, treated_index: int) -> tuple[np.ndarray, np.ndarray]:
    return x_all[:, treated_index], np.delete(x_all, treated_index, axis=1)


def predictor_matrix(
    frame: pd.DataFrame, wide: pd.DataFrame, post: np.ndarray, params: SyntheticControlParams
) -> np.ndarray | None:
    """``k x units`` predictor means (units in ``wide``'s order), each row divided by its SD."""
    if not params.predictors:
        return None
    units = frame[params.unit_column].to_numpy()
    rows = []
    for i, predictor in enumerate(params.predictors):
        values = _predictor_values(frame, predictor.column, f"predictors[{i}].column")
        table = pd.DataFrame(
            {"unit": units, "time": frame[params.time_column].to_numpy(), "value": values}
        )
        by_period = table.groupby(["time", "unit"])["value"].mean().unstack("unit").sort_index()
        by_period = by_period.reindex(index=wide.index, columns=wide.columns)
        chosen = by_period.loc[_predictor_periods(wide.index, post, predictor, i)]
        means = chosen.mean(axis=0)
        if means.isna().any():
            missing = ", ".join(str(u) for u in means.index[means.isna()][:5])
            raise ConfigError(
                f"{PARAMS_PATH}.predictors[{i}]: no {predictor.column!r} values in the chosen "
                f"periods for unit(s) {missing}"
            )
        row = means.to_numpy(dtype=float)
        rows.append(row / (row.std() or 1.0))
    return np.vstack(rows)


def _predictor_values(frame: pd.DataFrame, name: str, param: str) -> np.ndarray:
    """A numeric predictor column as floats; missing values are allowed (means skip them)."""
    series = require_column(frame, name, param)
    if not pd.api.types.is_numeric_dtype(series):
        raise ConfigError(
            f"{PARAMS_PATH}.{param}: column {name!r} must be numeric, got {series.dtype}"
        )
    return series.to_numpy(dtype=float, na_value=np.nan)


def _predictor_periods(
    index: pd.Index, post: np.ndarray, predictor: Predictor, i: int
) -> np.ndarray:
    """Boolean mask of the periods a predictor averages over."""
    times, convert = _comparable(index, predictor)
    if predictor.periods is not None:
        mask = np.isin(times, [convert(v) for v in predictor.periods])
    elif predictor.start is not None or predictor.end is not None:
        mask = np.ones(len(index), dtype=bool)
        if predictor.start is not None:
            mask &= times >= convert(predictor.start)
        if predictor.end is not None:
            mask &= times <= convert(predictor.end)
    else:
        mask = ~post
    chosen = (
        predictor.periods if predictor.periods is not None else [predictor.start, predictor.end]
    )
    if not mask.any():
        raise ConfigError(
            f"{PARAMS_PATH}.predictors[{i}]: no period of {predictor.column!r} matches {chosen!r}"
        )
    if (mask & post).any():
        raise ConfigError(
            f"{PARAMS_PATH}.predictors[{i}]: periods {chosen!r} reach into the post period; "
            "predictors must be measured before treatment_time"
        )
    return mask


def _comparable(index: pd.Index, predictor: Predictor) -> tuple[np.ndarray, Any]:
    """The time values and a converter for the predictor's periods (dates or numbers)."""
    given = [*(predictor.periods or []), predictor.start, predictor.end]
    if pd.api.types.is_datetime64_any_dtype(index) or any(isinstance(v, str) for v in given):
        try:
            return np.asarray(pd.to_datetime(index)), lambda v: np.datetime64(pd.Timestamp(v))
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{PARAMS_PATH}.predictors: cannot read periods as dates: {exc}"
            ) from None
    return np.asarray(index), lambda v: v


def handle_missing_units(
    frame: pd.DataFrame, params: SyntheticControlParams
) -> tuple[pd.DataFrame, dict[str, object]]:
    """``handle_missing``, refusing to drop the treated unit under ``drop_units``."""
    if params.missing == "drop_units" and params.unit_column in frame.columns:
        is_treated = frame[params.unit_column].astype(str) == str(params.treated_unit)
        bad = missing_mask(frame, read_columns(params)).any(axis=1) & is_treated
        if bad.any():
            raise ConfigError(
                f"{PARAMS_PATH}.missing: treated unit {params.treated_unit!r} has missing values "
                f"in {int(bad.sum())} rows; drop_units drops donor units only: fix the data "
                "or set missing: drop_rows"
            )
    return handle_missing(frame, params, unit_column=params.unit_column)


def wide_panel(frame: pd.DataFrame, params: SyntheticControlParams) -> tuple[pd.DataFrame, int]:
    """Periods x units of (weighted) mean outcomes, and the rows behind the kept units."""
    units = require_column(frame, params.unit_column, "unit_column")
    times = require_column(frame, params.time_column, "time_column")
    outcome = numeric_column(frame, params.outcome_column, "outcome_column")
    counts = observation_counts(frame, params.count_column)
    long = pd.DataFrame(
        {"unit": units.to_numpy(), "time": times.to_numpy(), "total": outcome * counts, "n": counts}
    )
    if params.treatment_column is not None:
        ever = numeric_column(frame, params.treatment_column, "treatment_column")
        ever_units = set(long.loc[ever > 0, "unit"]) - {params.treated_unit}
        long = long[~long["unit"].isin(ever_units)]
    sums = long.groupby(["time", "unit"])[["total", "n"]].sum()
    wide = (sums["total"] / sums["n"]).unstack("unit").sort_index()
    wide = wide.drop(columns=wide.columns[wide.isna().any()])
    if wide.shape[1] < 3:
        raise ComponentError("synthetic_control: need at least 2 donor units with complete series")
    n_observations = float(long.loc[long["unit"].isin(wide.columns), "n"].sum())
    return wide, round(n_observations)


def unit_key(wide: pd.DataFrame, treated_unit: str | int) -> object:
    for key in wide.columns:
        if key == treated_unit or str(key) == str(treated_unit):
            return key
    raise ConfigError(
        f"{PARAMS_PATH}.treated_unit: unit {treated_unit!r} not found in data "
        f"(or its series is incomplete)"
    )
