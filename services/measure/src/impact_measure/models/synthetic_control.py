"""``synthetic_control``: ATT of one treated unit from a convex combination of donors.

Weights (>= 0, summing to 1) minimise the pre-period squared error (scipy ``nnls``
with the sum-to-one constraint as a heavily weighted extra row). With
``intercept: true`` (default) every series is de-meaned first, so the treated
unit may sit outside the donors' range of levels (Ferman & Pinto 2021).

Unit series are (weighted) means of the rows per unit and period, so the input may be
a product-day panel with ``unit_column`` a group of products (e.g. a category or region);
``sample_size`` counts the rows of the treated and donor units (``count_column`` weights
pre-aggregated rows).

Inference (docs/decisions/0030-synthetic-control-conformal-interval.md):
- CI: conformal inference (Chernozhukov, Wüthrich & Zhu 2021) by test inversion, see
  ``models/conformal.py``: for a candidate constant effect θ the post outcomes are shifted
  by θ, weights are refitted on all periods, and θ is kept if the permutation p-value of
  the statistic (``conformal_statistic``: ``mean`` = |mean post residual|, default, or
  ``mean_abs`` = mean |post residual|, CWZ's S_1) exceeds ``alpha``. Permutations
  (``conformal_permutations``): ``iid`` (default, ``n_permutations`` random ones) or
  ``moving_block`` (the T cyclic shifts; for serially correlated residuals).
- Estimate: the θ whose post residuals have mean zero under that fit (p-value 1, so it
  is always inside the CI); the classic pre-period-fit ATT is in ``diagnostics``.
- p-value: the same conformal test of θ = 0 (consistent with the CI); the placebo-in-space
  RMSPE-ratio rank (Abadie, Diamond & Hainmueller 2010) is ``diagnostics.placebo_p_value``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from impact_contracts import ComponentError, ConfigError
from pydantic import Field
from scipy.optimize import nnls

from impact_measure.models import conformal
from impact_measure.models.base import (
    PARAMS_PATH,
    Estimate,
    ModelParams,
    finite_or_fail,
    handle_missing,
    missing_mask,
    numeric_column,
    observation_counts,
    read_columns,
    register_model,
    require_column,
    require_sample_size,
)
from impact_measure.models.panel import post_indicator


class SyntheticControlParams(ModelParams):
    outcome_column: str
    unit_column: str
    time_column: str
    treated_unit: str | int
    treatment_time: str | int | float
    treatment_column: str | None = None
    intercept: bool = True
    conformal_permutations: Literal["iid", "moving_block"] = "iid"
    n_permutations: int = Field(default=999, ge=99, le=100_000)
    conformal_statistic: Literal["mean", "mean_abs"] = "mean"
    count_column: str | None = None
    missing: Literal["error", "drop_rows", "drop_units"] = "drop_units"  # type: ignore[assignment]


@register_model("synthetic_control")
class SyntheticControl:
    """Synthetic control with a conformal CI and p-value (placebo rank in diagnostics)."""

    Params: ClassVar[type[ModelParams]] = SyntheticControlParams

    def estimate(self, frame: pd.DataFrame, params: SyntheticControlParams, seed: int) -> Estimate:
        frame, missing = _handle_missing(frame, params)
        wide, n_observations = _wide_panel(frame, params)
        post = post_indicator(wide.index, params.treatment_time)
        n_pre, n_post = int((~post).sum()), int(post.sum())
        if n_pre < 5 or n_post < 1:
            raise ConfigError(
                f"{PARAMS_PATH}.treatment_time: {params.treatment_time!r} leaves {n_pre} pre and "
                f"{n_post} post periods; need >= 5 pre and >= 1 post"
            )
        treated = wide.pop(_unit_key(wide, params.treated_unit))
        donors = wide.to_numpy(dtype=float)
        y = treated.to_numpy(dtype=float)
        require_sample_size(y.size * (donors.shape[1] + 1), "unit-periods")

        classic_weights = fit_weights(y[~post], donors[~post], params.intercept)
        classic_gap = y - synthetic(
            y[~post], donors[~post], donors, classic_weights, params.intercept
        )
        inference = _conformal(y, donors, post, float(classic_gap[post].mean()), params, seed)
        effect, (lower, upper) = inference["effect"], inference["interval"]
        weights = fit_weights(y - effect * post, donors, params.intercept)
        finite_or_fail("synthetic_control", effect, lower, upper)
        top = np.argsort(weights)[::-1][:10]
        return Estimate(
            effect=effect,
            ci_lower=lower,
            ci_upper=upper,
            p_value=inference["p_value"],
            sample_size=n_observations,
            n_treated=1,
            n_control=int(donors.shape[1]),
            n_pre=n_pre,
            n_post=n_post,
            diagnostics={
                "missing": missing,
                "estimand": "ATT of the treated unit, averaged over the post period",
                "estimator": "synthetic control, weights fitted on all periods under "
                "H0: effect = estimate (Chernozhukov et al. 2021)",
                "ci_method": "conformal inference test inversion (Chernozhukov, Wuthrich & "
                f"Zhu 2021): {params.conformal_permutations} permutations, statistic "
                f"{params.conformal_statistic}",
                "p_value_method": "conformal test of H0: effect = 0 (same permutations)",
                "n_permutations": inference["n_permutations"],
                "smallest_p_value": 1.0 / inference["n_permutations"],
                "placebo_p_value": _placebo_p_value(y, donors, post, params.intercept),
                "pre_period_fit_effect": float(classic_gap[post].mean()),
                "pre_rmspe": float(np.sqrt(np.mean(classic_gap[~post] ** 2))),
                "post_rmspe": float(np.sqrt(np.mean(classic_gap[post] ** 2))),
                "residual_autocorrelation": inference["autocorrelation"],
                **inference["warnings"],
                "weights": {str(wide.columns[i]): float(weights[i]) for i in top},
                "n_donors_with_weight": int((weights > 1e-6).sum()),
                "intercept": params.intercept,
                "conformal_statistic": params.conformal_statistic,
                "conformal_permutations": params.conformal_permutations,
            },
        )


def _conformal(
    y: np.ndarray,
    donors: np.ndarray,
    post: np.ndarray,
    start: float,
    params: SyntheticControlParams,
    seed: int,
) -> dict[str, Any]:
    """Point estimate, CI and p-value of the conformal test (``models/conformal.py``)."""
    rows = conformal.permutation_indices(
        post, params.conformal_permutations, params.n_permutations, np.random.default_rng(seed)
    )
    if params.alpha < 1.0 / len(rows):
        raise ConfigError(
            f"{PARAMS_PATH}.alpha: {params.alpha} is below the smallest p-value the conformal "
            f"test can reach (1/{len(rows)} = {1.0 / len(rows):.3g} with "
            f"{params.conformal_permutations} permutations); raise alpha or n_permutations"
        )

    def residuals(theta: float) -> np.ndarray:
        adjusted = y - theta * post
        weights = fit_weights(adjusted, donors, params.intercept)
        return adjusted - synthetic(adjusted, donors, donors, weights, params.intercept)

    def accepts(theta: float) -> bool:
        return conformal.p_value(residuals(theta), rows, params.conformal_statistic) > params.alpha

    scale = max(float(np.std(y - y.mean())), 1e-9)
    effect = conformal.point_estimate(residuals, post, start, scale)
    residual = residuals(effect)
    step = max(float(residual.std()), 1e-9 * scale) * np.sqrt(1 / post.sum() + 1 / (~post).sum())
    if not accepts(effect):
        raise ComponentError(
            "synthetic_control: the conformal test rejects even the point estimate at "
            f"alpha={params.alpha}: no valid interval (try conformal_statistic: mean)"
        )
    lower, upper = conformal.interval(accepts, effect, 0.5 * step)
    pre = residual[~post]
    autocorrelation = float(np.corrcoef(pre[:-1], pre[1:])[0, 1]) if pre.std() > 0 else 0.0
    warnings = {}
    if params.conformal_permutations == "iid" and autocorrelation > 0.3:
        warnings["warning"] = (
            f"residuals are serially correlated (lag-1 autocorrelation {autocorrelation:.2f}): "
            "iid permutations may under-cover; consider conformal_permutations: moving_block"
        )
    return {
        "effect": effect,
        "interval": (lower, upper),
        "p_value": conformal.p_value(residuals(0.0), rows, params.conformal_statistic),
        "n_permutations": len(rows),
        "autocorrelation": autocorrelation,
        "warnings": warnings,
    }


def _handle_missing(
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


def _wide_panel(frame: pd.DataFrame, params: SyntheticControlParams) -> tuple[pd.DataFrame, int]:
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


def _unit_key(wide: pd.DataFrame, treated_unit: str | int) -> object:
    for key in wide.columns:
        if key == treated_unit or str(key) == str(treated_unit):
            return key
    raise ConfigError(
        f"{PARAMS_PATH}.treated_unit: unit {treated_unit!r} not found in data "
        f"(or its series is incomplete)"
    )


def fit_weights(y: np.ndarray, donors: np.ndarray, intercept: bool) -> np.ndarray:
    """Donor weights >= 0 summing to 1 that best reproduce ``y``."""
    if intercept:
        y = y - y.mean()
        donors = donors - donors.mean(axis=0)
    penalty = 1e3 * max(1.0, float(np.abs(donors).max()), float(np.abs(y).max()))
    matrix = np.vstack([donors, np.full(donors.shape[1], penalty)])
    target = np.append(y, penalty)
    weights, _ = nnls(matrix, target, maxiter=50 * donors.shape[1])
    total = weights.sum()
    if total <= 0:
        raise ComponentError("synthetic_control: weight fit failed (all weights zero)")
    return weights / total


def synthetic(
    y_fit: np.ndarray, donors_fit: np.ndarray, donors: np.ndarray, w: np.ndarray, intercept: bool
) -> np.ndarray:
    """The synthetic series over all periods, level-matched on the fitting periods."""
    series = donors @ w
    if intercept:
        series = series + (y_fit.mean() - donors_fit.mean(axis=0) @ w)
    return series


def _placebo_p_value(y: np.ndarray, donors: np.ndarray, post: np.ndarray, intercept: bool) -> float:
    """Share of units whose post/pre RMSPE ratio is at least the treated unit's."""

    def ratio(target: np.ndarray, pool: np.ndarray) -> float:
        w = fit_weights(target[~post], pool[~post], intercept)
        gap = target - synthetic(target[~post], pool[~post], pool, w, intercept)
        pre = np.sqrt(np.mean(gap[~post] ** 2))
        return float(np.sqrt(np.mean(gap[post] ** 2)) / max(pre, 1e-12))

    treated_ratio = ratio(y, donors)
    placebo = [ratio(donors[:, j], np.delete(donors, j, axis=1)) for j in range(donors.shape[1])]
    return float((1 + sum(r >= treated_ratio for r in placebo)) / (1 + len(placebo)))
