"""``synthetic_control``: ATT of one treated unit from a convex combination of donors.

Estimate (docs/decisions/0078-synthetic-control-classic-att.md): the classic synthetic
control of Abadie, Diamond & Hainmueller (2010, 2015) and Abadie (2021). Donor weights
(>= 0, summing to 1) are fitted on the pre period only, on the pre-period outcomes or, with
``predictors``, on predictor means under V-weights chosen by pre-period outcome MSPE
(``models/synth_fit.py``). The effect is the mean post-period gap between the treated unit
and its synthetic control. ``intercept: true`` de-means every series first (Ferman & Pinto
2021), so only the dynamics are matched; ``false`` fits levels, the published method;
``auto`` (default) de-means only when the treated unit's pre-period mean is outside the
donors' range, which no convex combination can reach (also per placebo unit).

Inference:
- p-value: placebo in space. Each donor in turn is treated and fitted on the other
  donors; the p-value is the rank of the treated unit's post/pre RMSPE ratio among all
  units, ``(1 + #{placebo ratio >= treated}) / (1 + donors)``.
- CI (``ci_method: placebo``, default): the constant effects θ that the same test does not
  reject when ``θ`` is subtracted from the treated post period (Firpo & Possebom 2018); an
  interval centred on the estimate. With fewer than ``1/alpha - 1`` donors the test cannot
  reject anything, and the CI falls back to the conformal one (with a warning).
- The conformal interval (Chernozhukov, Wüthrich & Zhu 2021; ``models/conformal.py``:
  weights refitted on all periods under H0: constant effect θ, permutations of the
  residuals in time) is reported in ``diagnostics.conformal`` and is the CI with
  ``ci_method: conformal``. An unbounded conformal set (e.g. ``moving_block`` on a short
  series) is reported, with ``iid`` permutations tried next.
Permutations are seeded by ``permutation_seed`` only, so equal data give equal results.

Unit series are (weighted) means of the rows per unit and period, so the input may be
a product-day panel with ``unit_column`` a group of products (e.g. a category or region);
``sample_size`` counts the rows of the treated and donor units (``count_column`` weights
pre-aggregated rows).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from impact_contracts import ComponentError, ConfigError
from pydantic import Field

from impact_measure.config import Section
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
from impact_measure.models.synth_fit import (
    Fit,
    fit_unit,
    fit_weights,
    placebo_fits,
    placebo_interval,
    rank_p_value,
    rmspe,
    rmspe_ratio,
    synthetic,
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


@register_model("synthetic_control")
class SyntheticControl:
    """Classic synthetic control; placebo-in-space p-value and CI, conformal interval too."""

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
        x_all = _predictor_matrix(frame, wide, post, params)
        treated_key = _unit_key(wide, params.treated_unit)
        treated_index = list(wide.columns).index(treated_key)
        y = wide.pop(treated_key).to_numpy(dtype=float)
        donors = wide.to_numpy(dtype=float)
        require_sample_size(y.size * (donors.shape[1] + 1), "unit-periods")
        x, x_donors = (None, None) if x_all is None else _split(x_all, treated_index)

        intercept = None if params.intercept == "auto" else params.intercept
        fit = fit_unit(y, donors, ~post, intercept, x, x_donors)
        effect = float(fit.gap[post].mean())
        placebos = placebo_fits(donors, ~post, intercept, x_donors)
        ratios = np.array([rmspe_ratio(p.gap, post) for p in placebos])
        ratio = rmspe_ratio(fit.gap, post)
        placebo_p = rank_p_value(ratio, ratios)
        warnings = _level_warning(y[~post], donors[~post], params.intercept)
        conformal_record = _conformal_record(y, donors, post, fit.intercept, params, warnings)
        (lower, upper), ci_method, p_value, p_method = _choose_interval(
            fit, post, ratios, placebo_p, conformal_record, params, warnings
        )
        if not lower <= effect <= upper:
            raise ComponentError(
                f"synthetic_control: the {ci_method} interval [{lower:.4g}, {upper:.4g}] does "
                f"not contain the estimate {effect:.4g}; the data reject a constant effect at "
                "the estimate (add donors so the placebo interval applies, or raise alpha)"
            )
        finite_or_fail("synthetic_control", effect, lower, upper)
        names = [str(c) for c in wide.columns]
        return Estimate(
            effect=effect,
            ci_lower=lower,
            ci_upper=upper,
            p_value=p_value,
            sample_size=n_observations,
            n_treated=1,
            n_control=int(donors.shape[1]),
            n_pre=n_pre,
            n_post=n_post,
            diagnostics={
                "missing": missing,
                "estimand": "ATT of the treated unit, averaged over the post period",
                "estimator": "synthetic control, weights fitted on the pre period only "
                "(Abadie, Diamond & Hainmueller 2010)"
                + (", predictors with V-weights" if x is not None else ""),
                "ci_method": ci_method,
                "p_value_method": p_method,
                "pre_rmspe": rmspe(fit.gap[~post]),
                "post_rmspe": rmspe(fit.gap[post]),
                "rmspe_ratio": ratio,
                "placebo": _placebo_summary(placebos, ratios, names, post, placebo_p),
                "conformal": conformal_record,
                "residual_autocorrelation": _lag_one_autocorrelation(fit.gap[~post]),
                "weights": _top_weights(fit.weights, names),
                "n_donors_with_weight": int((fit.weights > 1e-6).sum()),
                "predictors": _predictor_record(params, x, x_donors, fit),
                "gap": [float(g) for g in fit.gap],
                "intercept": fit.intercept,
                "intercept_choice": _intercept_choice(params.intercept, fit.intercept),
                "permutation_seed": params.permutation_seed,
                "warnings": warnings,
            },
        )


def _intercept_choice(setting: bool | str, used: bool) -> str:
    if setting != "auto":
        return "set in PARAMS"
    if used:
        return (
            "auto: the treated unit's pre-period mean is outside the donors' range, so every "
            "series is de-meaned (Ferman & Pinto 2021)"
        )
    return "auto: the treated unit's pre-period mean is inside the donors' range, levels fitted"


def _level_warning(y_pre: np.ndarray, donors_pre: np.ndarray, intercept: bool | str) -> list[str]:
    """A convex combination cannot reach a pre-period level outside the donors' range."""
    level, levels = float(y_pre.mean()), donors_pre.mean(axis=0)
    if intercept is not False or levels.min() <= level <= levels.max():
        return []
    return [
        f"the treated unit's pre-period mean {level:.4g} is outside the donors' range "
        f"[{levels.min():.4g}, {levels.max():.4g}]: no convex combination matches its level, "
        "so the estimate may be biased; consider intercept: true"
    ]


def _choose_interval(
    fit: Fit,
    post: np.ndarray,
    ratios: np.ndarray,
    placebo_p: float,
    conformal_record: dict[str, Any],
    params: SyntheticControlParams,
    warnings: list[str],
) -> tuple[tuple[float, float], str, float, str]:
    """The CI and the p-value of one test: placebo inversion, else the conformal test."""
    placebo_method = (
        "placebo-in-space RMSPE-ratio test inverted for a constant effect (Firpo & "
        f"Possebom 2018), {len(ratios)} placebos"
    )
    placebo_p_method = (
        f"placebo in space: rank of the post/pre RMSPE ratio among {len(ratios) + 1} units "
        "(Abadie, Diamond & Hainmueller 2010)"
    )
    if params.ci_method == "placebo":
        interval = placebo_interval(fit.gap, post, ratios, params.alpha)
        if not isinstance(interval, str):
            return interval, placebo_method, placebo_p, placebo_p_method
        warnings.append(f"{interval}; the CI is the conformal interval instead")
    if conformal_record["interval"] is None:
        reasons = [*warnings, f"conformal: {conformal_record['note']}"]
        raise ComponentError(
            "synthetic_control: no method bounds a confidence interval on these data: "
            + "; ".join(reasons)
        )
    if conformal_record["permutations"] == "iid" and conformal_record["autocorrelation"] > 0.3:
        warnings.append(
            "conformal residuals are serially correlated (lag-1 autocorrelation "
            f"{conformal_record['autocorrelation']:.2f}): iid permutations may under-cover"
        )
    method = (
        "conformal inference test inversion (Chernozhukov, Wuthrich & Zhu 2021): "
        f"{conformal_record['permutations']} permutations, statistic {params.conformal_statistic}"
    )
    lower, upper = conformal_record["interval"]
    return (lower, upper), method, conformal_record["p_value"], "conformal test of H0: effect = 0"


def _conformal_record(
    y: np.ndarray,
    donors: np.ndarray,
    post: np.ndarray,
    intercept: bool,
    params: SyntheticControlParams,
    warnings: list[str],
) -> dict[str, Any]:
    """The conformal interval, p-value and estimate; ``iid`` if ``moving_block`` is unbounded.

    ``interval`` is ``None`` when the set is unbounded, ``alpha`` is below the smallest
    reachable p-value, or the test fails; ``note`` then says which.
    """
    if params.ci_method == "conformal":
        _require_reachable_alpha(post, params)
    record = _conformal(y, donors, post, intercept, params, params.conformal_permutations)
    if record["interval"] is None and params.conformal_permutations == "moving_block":
        warnings.append(
            "the moving_block conformal confidence set is unbounded (no effect within "
            f"{conformal.MAX_STEPS} steps of the estimate is rejected); used iid permutations"
        )
        record = _conformal(y, donors, post, intercept, params, "iid")
    return record


def _require_reachable_alpha(post: np.ndarray, params: SyntheticControlParams) -> None:
    n = len(post) if params.conformal_permutations == "moving_block" else params.n_permutations + 1
    if params.alpha < 1.0 / n:
        raise ConfigError(
            f"{PARAMS_PATH}.alpha: {params.alpha} is below the smallest p-value the conformal "
            f"test can reach (1/{n} = {1.0 / n:.3g} with "
            f"{params.conformal_permutations} permutations); raise alpha or n_permutations"
        )


def _conformal(
    y: np.ndarray,
    donors: np.ndarray,
    post: np.ndarray,
    intercept: bool,
    params: SyntheticControlParams,
    scheme: Literal["iid", "moving_block"],
) -> dict[str, Any]:
    """Estimate, interval (``None`` if unbounded) and p-value of the conformal test."""
    rng = np.random.default_rng(params.permutation_seed)
    rows = conformal.permutation_indices(post, scheme, params.n_permutations, rng)
    record: dict[str, Any] = {
        "interval": None,
        "permutations": scheme,
        "n_permutations": len(rows),
        "statistic": params.conformal_statistic,
    }

    def residuals(theta: float) -> np.ndarray:
        adjusted = y - theta * post
        weights = fit_weights(adjusted, donors, intercept)
        return adjusted - synthetic(adjusted, donors, donors, weights, intercept)

    def accepts(theta: float) -> bool:
        return conformal.p_value(residuals(theta), rows, params.conformal_statistic) > params.alpha

    start_fit = fit_weights(y[~post], donors[~post], intercept)
    start = float(
        (y - synthetic(y[~post], donors[~post], donors, start_fit, intercept))[post].mean()
    )
    scale = max(float(np.std(y - y.mean())), 1e-9)
    try:
        effect = conformal.point_estimate(residuals, post, start, scale)
    except ComponentError as exc:
        return {**record, "note": str(exc)}
    residual = residuals(effect)
    record.update(
        effect=effect,
        p_value=conformal.p_value(residuals(0.0), rows, params.conformal_statistic),
        autocorrelation=_lag_one_autocorrelation(residual[~post]),
    )
    if params.alpha < 1.0 / len(rows):
        return {**record, "note": f"alpha is below the smallest p-value, 1/{len(rows)}"}
    step = max(float(residual.std()), 1e-9 * scale) * np.sqrt(1 / post.sum() + 1 / (~post).sum())
    interval = conformal.interval(accepts, effect, 0.5 * step)
    if interval is None:
        return {**record, "note": "the confidence set is unbounded"}
    return {**record, "interval": [float(interval[0]), float(interval[1])]}


def _lag_one_autocorrelation(values: np.ndarray) -> float:
    if len(values) < 3 or values.std() == 0:
        return 0.0
    return float(np.corrcoef(values[:-1], values[1:])[0, 1])


def _placebo_summary(
    placebos: list[Fit], ratios: np.ndarray, names: list[str], post: np.ndarray, p_value: float
) -> dict[str, Any]:
    effects = np.array([p.gap[post].mean() for p in placebos])
    return {
        "p_value": p_value,
        "n_placebos": len(placebos),
        "rmspe_ratio_quantiles": _quantiles(ratios),
        "effect_quantiles": _quantiles(effects),
        "pre_rmspe_median": float(np.median([rmspe(p.gap[~post]) for p in placebos])),
        "largest_ratios": {
            names[i]: float(ratios[i]) for i in np.argsort(ratios)[::-1][: min(5, len(ratios))]
        },
    }


def _quantiles(values: np.ndarray) -> dict[str, float]:
    levels = {"min": 0.0, "q05": 0.05, "median": 0.5, "q95": 0.95, "max": 1.0}
    return {name: float(np.quantile(values, q)) for name, q in levels.items()}


def _top_weights(weights: np.ndarray, names: list[str]) -> dict[str, float]:
    top = [i for i in np.argsort(weights)[::-1] if weights[i] > 1e-6]
    return {names[i]: float(weights[i]) for i in top}


def _predictor_record(
    params: SyntheticControlParams, x: np.ndarray | None, x_donors: np.ndarray | None, fit: Fit
) -> list[dict[str, Any]]:
    """Per predictor: its V-weight and the treated vs synthetic value (balance)."""
    if x is None or x_donors is None or fit.v is None:
        return []
    synthetic_x = x_donors @ fit.weights
    return [
        {
            "column": predictor.column,
            "v_weight": float(fit.v[k]),
            "treated": float(x[k]),
            "synthetic": float(synthetic_x[k]),
        }
        for k, predictor in enumerate(params.predictors)
    ]


def _split(x_all: np.ndarray, treated_index: int) -> tuple[np.ndarray, np.ndarray]:
    return x_all[:, treated_index], np.delete(x_all, treated_index, axis=1)


def _predictor_matrix(
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
