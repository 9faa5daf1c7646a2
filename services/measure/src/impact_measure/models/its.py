"""``interrupted_time_series``: the level change (step) of a segmented regression.

The outcome is aggregated by ``time_column`` (``aggregation``: mean or sum; rows of
pre-aggregated data are weighted by ``count_column``), then
``y_t = b0 + b1 * t + effect * step_t (+ day-of-period dummies) + u_t`` is fitted
with AR(p) errors: by feasible GLS (statsmodels ``GLSAR``, iterated Cochrane-Orcutt;
``fit: fgls``, default) or by maximum likelihood (``SARIMAX``, explicit constant
column, ``trend="n"``; ``fit: sarimax``, ~100x slower, same model). The effect is the
step coefficient, never the post-period level. If the fit fails, OLS with Newey-West
(HAC) standard errors is used and ``diagnostics.fit_method`` says so. Seasonality:
``seasonal_period: auto`` (default) adds day-of-week dummies to a regular daily series
(1-day spacing); ``null``/``0`` turns them off, an integer >= 2 sets the period.
``sample_size`` counts the unit-level rows behind the series (e.g. product-days).
"""

from __future__ import annotations

import warnings
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from impact_contracts import ConfigError
from pydantic import Field, field_validator
from scipy import stats
from statsmodels.regression.linear_model import GLSAR, OLS
from statsmodels.tsa.statespace.sarimax import SARIMAX

from impact_measure.models.base import (
    PARAMS_PATH,
    Estimate,
    ModelParams,
    finite_or_fail,
    handle_missing,
    numeric_column,
    observation_counts,
    register_model,
    require_column,
    require_sample_size,
    two_sided_p_value,
)
from impact_measure.models.panel import post_indicator


class ITSParams(ModelParams):
    outcome_column: str
    time_column: str
    treatment_time: str | int | float
    aggregation: Literal["mean", "sum"] = "mean"
    seasonal_period: Literal["auto"] | int | None = "auto"
    ar_order: int = Field(default=1, ge=0, le=3)
    fit: Literal["fgls", "sarimax"] = "fgls"
    maxiter: int = Field(default=50, ge=1)
    min_periods_each_side: int = Field(default=5, ge=2)
    count_column: str | None = None

    @field_validator("seasonal_period")
    @classmethod
    def _period_is_off_or_at_least_two(cls, value: object) -> object:
        if (isinstance(value, int) and value == 1) or (isinstance(value, int) and value < 0):
            raise ValueError("must be 'auto', null or 0 (no seasonality), or an integer >= 2")
        return value


@register_model("interrupted_time_series")
class InterruptedTimeSeries:
    """Segmented regression with intercept, pre-trend and a step at ``treatment_time``."""

    Params: ClassVar[type[ModelParams]] = ITSParams

    def estimate(self, frame: pd.DataFrame, params: ITSParams, seed: int) -> Estimate:
        frame, missing = handle_missing(frame, params)
        series, n_observations = _aggregate(frame, params)
        post = post_indicator(series.index, params.treatment_time)
        n_pre, n_post = int((~post).sum()), int(post.sum())
        require_sample_size(len(series), "time periods")
        if min(n_pre, n_post) < params.min_periods_each_side:
            raise ConfigError(
                f"{PARAMS_PATH}.treatment_time: {params.treatment_time!r} leaves {n_pre} pre and "
                f"{n_post} post periods; need >= {params.min_periods_each_side} on each side"
            )
        period, period_source = seasonal_period(series.index, params.seasonal_period)
        exog = _design(len(series), post, period)
        y = series.to_numpy(dtype=float)
        fit = _fit_sarimax if params.fit == "sarimax" else _fit_fgls
        try:
            effect, se, dof, method, extra = fit(y, exog, params)
        except (np.linalg.LinAlgError, ValueError, RuntimeError) as exc:
            effect, se, dof, method, extra = _fit_hac(y, exog, params)
            extra["fit_error"] = str(exc)
        finite_or_fail("interrupted_time_series", effect, se)
        dist = stats.norm if dof is None else stats.t(dof)
        half = float(dist.ppf(1 - params.alpha / 2)) * se
        p_value, p_note = two_sided_p_value(effect / se, dist) if se > 0 else (None, {})
        return Estimate(
            effect=effect,
            ci_lower=effect - half,
            ci_upper=effect + half,
            p_value=p_value,
            sample_size=n_observations,
            n_pre=n_pre,
            n_post=n_post,
            diagnostics={
                "missing": missing,
                "estimand": "level change (step) at treatment_time",
                "estimator": "segmented regression: intercept + trend + step (+ seasonal dummies)",
                "fit_method": method,
                "standard_error": se,
                "aggregation": params.aggregation,
                "seasonal_period": period,
                "seasonal_period_source": period_source,
                "n_periods": len(series),
                "pre_mean": float(y[~post].mean()),
                "post_mean": float(y[post].mean()),
                **extra,
                **p_note,
            },
        )


def _aggregate(frame: pd.DataFrame, params: ITSParams) -> tuple[pd.Series, int]:
    """The outcome per period (weighted mean or total) and the observations behind it."""
    times = require_column(frame, params.time_column, "time_column")
    values = numeric_column(frame, params.outcome_column, "outcome_column")
    counts = observation_counts(frame, params.count_column)
    table = pd.DataFrame({"total": values * counts, "count": counts}, index=times.to_numpy())
    sums = table.groupby(level=0).sum().sort_index()
    series = sums["total"] / sums["count"] if params.aggregation == "mean" else sums["total"]
    return series, round(float(counts.sum()))


def seasonal_period(index: pd.Index, setting: str | int | None) -> tuple[int | None, str]:
    """The seasonal period to model and why: ``auto`` is 7 for regular daily data."""
    if setting != "auto":
        period = setting if isinstance(setting, int) and setting >= 2 else None
        return period, "set in PARAMS" if period else "disabled in PARAMS"
    daily = False
    if not pd.api.types.is_numeric_dtype(index) and len(index) >= 3:
        try:
            spacing = pd.DatetimeIndex(pd.to_datetime(index)).to_series().diff().iloc[1:]
            daily = bool((spacing == pd.Timedelta(days=1)).all())
        except (TypeError, ValueError):
            daily = False
    if daily:
        return 7, "auto: daily data (1-day spacing), weekly seasonality"
    return None, "auto: not a regular daily series, no seasonal dummies"


def _design(length: int, post: np.ndarray, seasonal_period: int | None) -> np.ndarray:
    """Columns: const, time scaled to [-1, 1], step, ``seasonal_period - 1`` dummies."""
    time = np.arange(length, dtype=float)
    centred = time - time.mean()
    columns = [
        np.ones(length),
        centred / max(1.0, float(np.abs(centred).max())),
        post.astype(float),
    ]
    if seasonal_period:
        phase = np.arange(length) % seasonal_period
        columns += [(phase == k).astype(float) for k in range(1, seasonal_period)]
    return np.column_stack(columns)


STEP = 2


def _fit_sarimax(
    y: np.ndarray, exog: np.ndarray, params: ITSParams
) -> tuple[float, float, int | None, str, dict[str, object]]:
    """Regression with AR errors; y is scaled and started from OLS so it converges fast."""
    scale = float(y.std()) or 1.0
    scaled = y / scale
    ols = OLS(scaled, exog).fit()
    residual = ols.resid
    ar_start = [0.0] * params.ar_order
    if params.ar_order:
        ar_start[0] = float(np.clip(np.corrcoef(residual[:-1], residual[1:])[0, 1], -0.9, 0.9))
    start = np.r_[ols.params, ar_start, residual.var()]
    model = SARIMAX(scaled, exog=exog, order=(params.ar_order, 0, 0), trend="n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.fit(disp=False, maxiter=params.maxiter, start_params=start)
    effect, se = float(result.params[STEP]) * scale, float(result.bse[STEP]) * scale
    if not np.isfinite(se) or se <= 0:
        raise ValueError(f"SARIMAX gave a non-finite standard error ({se})")
    ar = [float(v) for v in result.params[exog.shape[1] : exog.shape[1] + params.ar_order]]
    info = {"ar_coefficients": ar, "converged": bool(result.mle_retvals.get("converged", False))}
    return effect, se, None, f"SARIMAX({params.ar_order},0,0)", info


def _fit_fgls(
    y: np.ndarray, exog: np.ndarray, params: ITSParams
) -> tuple[float, float, int | None, str, dict[str, object]]:
    """Regression with AR(p) errors by iterated feasible GLS; t-based inference."""
    if params.ar_order == 0:
        fit = OLS(y, exog).fit()
        return float(fit.params[STEP]), float(fit.bse[STEP]), int(fit.df_resid), "OLS", {}
    model = GLSAR(y, exog, rho=params.ar_order)
    fit = model.iterative_fit(maxiter=params.maxiter)
    se = float(fit.bse[STEP])
    if not np.isfinite(se) or se <= 0:
        raise ValueError(f"GLSAR gave a non-finite standard error ({se})")
    info: dict[str, object] = {"ar_coefficients": [float(v) for v in np.atleast_1d(model.rho)]}
    return float(fit.params[STEP]), se, int(fit.df_resid), f"GLSAR AR({params.ar_order})", info


def _fit_hac(
    y: np.ndarray, exog: np.ndarray, params: ITSParams
) -> tuple[float, float, int | None, str, dict[str, object]]:
    lags = max(1, int(np.floor(4 * (len(y) / 100) ** (2 / 9))))
    fit = OLS(y, exog).fit(cov_type="HAC", cov_kwds={"maxlags": lags}, use_t=True)
    return (
        float(fit.params[STEP]),
        float(fit.bse[STEP]),
        int(fit.df_resid),
        "OLS with Newey-West HAC",
        {"hac_lags": lags},
    )
