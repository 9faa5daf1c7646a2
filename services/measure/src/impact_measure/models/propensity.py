"""Propensity scores and overlap checks shared by matching and subclassification.

The score is a logit of treatment on the covariates (statsmodels), fitted on
standardised, linearly independent columns; the *linearised* score is its log-odds
(Imbens & Rubin 2015, ch. 13). Library warnings are captured, never printed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from impact_contracts import ComponentError
from scipy.linalg import qr
from statsmodels.discrete.discrete_model import Logit

#: A larger share of treated units outside the controls' score range gets a warning: beyond
#: a few extreme units, the estimate rests on extrapolation.
OUTSIDE_SUPPORT_WARNING = 0.05


@dataclass(frozen=True)
class PropensityFit:
    """Fitted P(treated | covariates) and its log-odds for every row."""

    score: np.ndarray
    log_odds: np.ndarray
    converged: bool
    warnings: list[str] = field(default_factory=list)


def independent_columns(x: np.ndarray, given: np.ndarray | None = None) -> np.ndarray:
    """``x`` standardised, without constant or linearly dependent columns (pivoted QR).

    With ``given``, columns that are linear combinations of ``given`` and the other kept
    columns are dropped too, so ``[given, result]`` has full column rank.
    """
    spread = x.std(axis=0)
    x = (x[:, spread > 0] - x[:, spread > 0].mean(axis=0)) / spread[spread > 0]
    if x.shape[1] == 0:
        return x
    residual = x
    if given is not None:
        basis, _ = np.linalg.qr(given)
        residual = x - basis @ (basis.T @ x)
    # pivoted QR of the small Gram matrix: a column whose residual sum of squares is below
    # 1e-10 of its own (n, standardised) depends on the columns before it
    _, r, pivot = qr(residual.T @ residual, pivoting=True)
    rank = int((np.abs(np.diag(r)) > len(x) * 1e-10).sum())
    return x[:, np.sort(pivot[:rank])]


def fit_propensity(treated: np.ndarray, covariates: np.ndarray, model: str) -> PropensityFit:
    """Logit of ``treated`` on ``covariates``; warnings go into the result.

    Raises:
        ComponentError: the fit fails or gives non-finite scores.
    """
    x = independent_columns(covariates)
    design = np.column_stack([np.ones(len(treated)), x])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = Logit(treated, design, check_rank=False).fit(disp=0, maxiter=100)
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise ComponentError(f"{model}: propensity model failed: {exc}") from exc
    log_odds = design @ np.asarray(fit.params)
    score = np.asarray(fit.predict(design))
    if not (np.isfinite(score).all() and np.isfinite(log_odds).all()):
        raise ComponentError(f"{model}: propensity model gave non-finite scores")
    messages = [f"propensity logit: {m}" for m in dict.fromkeys(str(w.message) for w in caught)]
    converged = bool(fit.mle_retvals.get("converged", True))
    return PropensityFit(score, log_odds, converged, messages)


def require_overlap(
    log_odds: np.ndarray, treated: np.ndarray, covariates: np.ndarray, names: list[str], model: str
) -> None:
    """Refuse when the propensity separates the groups: no treated unit has a control with
    a score as extreme, or the other way round, so every comparison is an extrapolation.

    Raises:
        ComponentError: naming the problem, and the covariates that separate on their own.
    """
    if not separated(log_odds, treated):
        return
    culprits = [
        name for name, column in zip(names, covariates.T, strict=True) if separated(column, treated)
    ]
    which = f"; {', '.join(culprits)} alone separates them" if culprits else ""
    raise ComponentError(
        f"{model}: the propensity score separates treated and control units completely "
        f"(no overlap){which}: the covariates predict treatment exactly, so no control is "
        "comparable to any treated unit; remove covariates that are determined by treatment from "
        "MEASUREMENT.PARAMS.covariate_columns"
    )


def separated(values: np.ndarray, treated: np.ndarray) -> bool:
    """Every treated value lies above every control value, or below."""
    t, c = values[treated == 1], values[treated == 0]
    return bool(t.min() > c.max() or t.max() < c.min())


def overlap_summary(score: np.ndarray, treated: np.ndarray) -> dict[str, Any]:
    """Score quantiles per group and the shares of each group outside the other's range."""
    t, c = score[treated == 1], score[treated == 0]
    quantiles = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]
    return {
        "propensity_quantiles": {
            "levels": quantiles,
            "treated": np.quantile(t, quantiles).tolist(),
            "control": np.quantile(c, quantiles).tolist(),
        },
        "treated_outside_control_support": float(np.mean((t < c.min()) | (t > c.max()))),
        "controls_outside_treated_support": float(np.mean((c < t.min()) | (c > t.max()))),
        "treated_above_0_99": float(np.mean(t > 0.99)),
    }


def standardised_differences(
    x: np.ndarray, treated: np.ndarray, control_weights: np.ndarray | None = None
) -> np.ndarray:
    """Standardised mean difference of each column: (mean_t - mean_c) / sqrt((s²_t + s²_c)/2),
    with the controls optionally weighted; the variances are the unweighted ones."""
    t, c = x[treated == 1], x[treated == 0]
    scale = np.sqrt((t.var(axis=0, ddof=1) + c.var(axis=0, ddof=1)) / 2.0)
    difference = t.mean(axis=0) - np.average(c, axis=0, weights=control_weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        smd = np.where(scale > 0, difference / scale, 0.0)
    return np.asarray(smd)


def covariate_names(coding: dict[str, Any]) -> list[str]:
    """Column names of ``covariate_matrix``'s output, in order (dummies by level)."""
    names: list[str] = []
    for name, how in coding.items():
        names.extend(how["columns"] if how["type"] == "categorical" else [name])
    return names
