"""``interrupted_time_series``: the level change (step) of a segmented regression.

The outcome is aggregated by ``time_column`` (``aggregation``: mean or sum; rows of
pre-aggregated data are weighted by ``count_column``). The effect is the coefficient of a
step at ``treatment_time``, never the post-period level, in one of two models:
- segmented regression ``y_t = b0 + b1 * t + effect * step_t (+ seasonal terms) + u_t``
  with AR(p) errors: feasible GLS (statsmodels ``GLSAR``, iterated Cochrane-Orcutt;
  ``fit: fgls``) or maximum likelihood (``SARIMAX``, ``fit: sarimax``, same model);
- structural time series (``fit: structural``): a local level (random walk) plus the
  seasonal terms and the step, by Kalman-filter ML (statsmodels
  ``UnobservedComponents``), as Harvey & Durbin (1986) measured the UK seat-belt law.
``fit: auto`` (default) is ``structural`` for monthly, quarterly and weekly series (years
of data, where one straight trend rarely holds) and ``fgls`` otherwise
(docs/decisions/0081-its-calendar-seasonality-and-structural-fit.md). If a fit fails,
OLS with Newey-West (HAC) standard errors is used and ``diagnostics.fit_method`` says so.

Seasonality (``seasonal_period: auto``, default) follows the spacing of a date time
column: daily → 6 day-of-week dummies, weekly → 3 Fourier pairs of the 52.18-week year,
monthly → 11 month dummies, quarterly → 3 quarter dummies, each only with at least two
full cycles; numeric or irregular time gets none. ``null``/``0`` turns it off, an integer
>= 2 sets a dummy period. ``sample_size`` counts the unit-level rows behind the series.
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
from statsmodels.tsa.statespace.structural import UnobservedComponents

from impact_measure.models.base import (
    PARAMS_PATH,
    Estimate,
    ModelParams,
    finite_or_fail,
    register_model,
    two_sided_p_value,
)
from impact_measure.models.columns import (
    handle_missing,
    numeric_column,
    observation_counts,
    require_column,
    require_sample_size,
)
from impact_measure.models.panel import post_indicator
from impact_measure.models.seasonality import YEARLY_FREQUENCIES, design_matrix, seasonality


class ITSParams(ModelParams):
    outcome_column: str
    time_column: str
    treatment_time: str | int | float
    aggregation: Literal["mean", "sum"] = "mean"
    seasonal_period: Literal["auto"] | int | None = "auto"
    ar_order: int = Field(default=1, ge=0, le=3)
    fit: Literal["auto", "fgls", "sarimax", "structural"] = "auto"
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
        season = seasonality(series.index, params.seasonal_period)
        exog = design_matrix(len(series), post, season)
        y = series.to_numpy(dtype=float)
        fit_name = params.fit
        if fit_name == "auto":
            fit_name = "structural" if season.frequency in YEARLY_FREQUENCIES else "fgls"
        fit = FITS[fit_name]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                effect, se, dof, method, extra = fit(y, exog, params)
            except (np.linalg.LinAlgError, ValueError, RuntimeError) as exc:
                effect, se, dof, method, extra = _fit_hac(y, exog, params)
                extra["fit_error"] = str(exc)
        fit_warnings = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
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
                "estimator": (
                    "structural time series: local level + step (+ seasonal terms)"
                    if fit_name == "structural"
                    else "segmented regression: intercept + trend + step (+ seasonal terms)"
                ),
                "fit_method": method,
                "fit_choice": f"{params.fit}: {fit_name}"
                + (f" ({season.frequency} data)" if params.fit == "auto" else ""),
                "standard_error": se,
                "aggregation": params.aggregation,
                "frequency": season.frequency,
                "seasonal_period": season.period,
                "seasonal_terms": season.terms,
                "seasonal_period_source": season.source,
                "n_periods": len(series),
                "pre_mean": float(y[~post].mean()),
                "post_mean": float(y[post].mean()),
                **extra,
                **p_note,
                **({"warnings": fit_warnings} if fit_warnings else {}),
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


def _fit_structural(
    y: np.ndarray, exog: np.ndarray, params: ITSParams
) -> tuple[float, float, int | None, str, dict[str, object]]:
    """Local level + step + seasonal terms. The variances are fitted by ML; the regression
    coefficients are states (diffuse prior), so the step's SE is its smoothed state SE
    (Durbin & Koopman 2012, §6.2). y is scaled for the optimiser."""
    scale = float(y.std()) or 1.0
    regressors = exog[:, STEP:]  # the local level replaces the constant and the trend
    model = UnobservedComponents(y / scale, level="llevel", exog=regressors, mle_regression=False)
    result = model.fit(disp=False, maxiter=max(params.maxiter, 200))
    step = model.k_states - regressors.shape[1]
    effect = float(result.smoothed_state[step, -1]) * scale
    se = float(np.sqrt(result.smoothed_state_cov[step, step, -1])) * scale
    if not np.isfinite(se) or se <= 0:
        raise ValueError(f"UnobservedComponents gave a non-finite standard error ({se})")
    variances = {
        name.removeprefix("sigma2."): float(value) * scale**2
        for name, value in zip(model.param_names, result.params, strict=True)
    }
    info = {
        "variances": variances,
        "converged": bool(result.mle_retvals.get("converged", False)),
    }
    return effect, se, None, "UnobservedComponents local level", info


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


FITS = {"fgls": _fit_fgls, "sarimax": _fit_sarimax, "structural": _fit_structural}
