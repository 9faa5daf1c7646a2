"""The synthetic control's inference: the placebo-in-space test and CI, the conformal
interval (``models/conformal.py``) and the choice between them (``ci_method``)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from impact_contracts import ComponentError, ConfigError

from impact_measure.models import conformal
from impact_measure.models.base import PARAMS_PATH
from impact_measure.models.synth_data import SyntheticControlParams
from impact_measure.models.synth_fit import Fit, fit_weights, placebo_interval, rmspe, synthetic


def choose_interval(
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


def conformal_test(
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
        autocorrelation=lag_one_autocorrelation(residual[~post]),
    )
    if params.alpha < 1.0 / len(rows):
        return {**record, "note": f"alpha is below the smallest p-value, 1/{len(rows)}"}
    step = max(float(residual.std()), 1e-9 * scale) * np.sqrt(1 / post.sum() + 1 / (~post).sum())
    interval = conformal.interval(accepts, effect, 0.5 * step)
    if interval is None:
        return {**record, "note": "the confidence set is unbounded"}
    return {**record, "interval": [float(interval[0]), float(interval[1])]}


def lag_one_autocorrelation(values: np.ndarray) -> float:
    if len(values) < 3 or values.std() == 0:
        return 0.0
    return float(np.corrcoef(values[:-1], values[1:])[0, 1])


def placebo_summary(
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
