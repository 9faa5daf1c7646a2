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

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from impact_contracts import ComponentError, ConfigError

from impact_measure.models.base import (
    PARAMS_PATH,
    Estimate,
    ModelParams,
    finite_or_fail,
    register_model,
)
from impact_measure.models.columns import require_sample_size
from impact_measure.models.panel import post_indicator
from impact_measure.models.synth_data import (
    SyntheticControlParams,
    handle_missing_units,
    predictor_matrix,
    split_predictors,
    unit_key,
    wide_panel,
)
from impact_measure.models.synth_fit import (
    Fit,
    fit_unit,
    placebo_fits,
    rank_p_value,
    rmspe,
    rmspe_ratio,
)
from impact_measure.models.synth_inference import (
    choose_interval,
    conformal_test,
    lag_one_autocorrelation,
    placebo_summary,
)


@register_model("synthetic_control")
class SyntheticControl:
    """Classic synthetic control; placebo-in-space p-value and CI, conformal interval too."""

    Params: ClassVar[type[ModelParams]] = SyntheticControlParams

    def estimate(self, frame: pd.DataFrame, params: SyntheticControlParams, seed: int) -> Estimate:
        frame, missing = handle_missing_units(frame, params)
        wide, n_observations = wide_panel(frame, params)
        post = post_indicator(wide.index, params.treatment_time)
        n_pre, n_post = int((~post).sum()), int(post.sum())
        if n_pre < 5 or n_post < 1:
            raise ConfigError(
                f"{PARAMS_PATH}.treatment_time: {params.treatment_time!r} leaves {n_pre} pre and "
                f"{n_post} post periods; need >= 5 pre and >= 1 post"
            )
        x_all = predictor_matrix(frame, wide, post, params)
        treated_key = unit_key(wide, params.treated_unit)
        treated_index = list(wide.columns).index(treated_key)
        y = wide.pop(treated_key).to_numpy(dtype=float)
        donors = wide.to_numpy(dtype=float)
        require_sample_size(y.size * (donors.shape[1] + 1), "unit-periods")
        x, x_donors = (None, None) if x_all is None else split_predictors(x_all, treated_index)

        intercept = None if params.intercept == "auto" else params.intercept
        fit = fit_unit(y, donors, ~post, intercept, x, x_donors)
        effect = float(fit.gap[post].mean())
        placebos = placebo_fits(donors, ~post, intercept, x_donors)
        ratios = np.array([rmspe_ratio(p.gap, post) for p in placebos])
        ratio = rmspe_ratio(fit.gap, post)
        placebo_p = rank_p_value(ratio, ratios)
        warnings = _level_warning(y[~post], donors[~post], params.intercept)
        conformal_record = conformal_test(y, donors, post, fit.intercept, params, warnings)
        (lower, upper), ci_method, p_value, p_method = choose_interval(
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
                "placebo": placebo_summary(placebos, ratios, names, post, placebo_p),
                "conformal": conformal_record,
                "residual_autocorrelation": lag_one_autocorrelation(fit.gap[~post]),
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
