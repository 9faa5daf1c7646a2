"""``subclassification``: propensity-score strata (Cochran 1968; Rosenbaum & Rubin 1984).

The propensity score is a logit of treatment on the covariates (statsmodels).
Units are cut into ``n_strata`` quantile strata of the score; strata without
at least two treated and two control units are merged with a neighbour. The
effect is the weighted mean of within-stratum differences in means, weighted by
treated counts (``estimand: ATT``, default) or by all units (``ATE``). Variance:
Σ w_s² (s²_treated/n_treated + s²_control/n_control); normal CI and p-value.
"""

from __future__ import annotations

import warnings
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from impact_contracts import ComponentError
from pydantic import Field
from scipy import stats
from statsmodels.discrete.discrete_model import Logit
from statsmodels.tools.tools import add_constant

from impact_measure.models.base import (
    Estimate,
    ModelParams,
    binary_column,
    covariate_matrix,
    finite_or_fail,
    handle_missing,
    numeric_column,
    register_model,
    require_groups,
    require_sample_size,
    two_sided_p_value,
)


class SubclassificationParams(ModelParams):
    outcome_column: str
    treatment_column: str
    covariate_columns: list[str] = Field(min_length=1)
    n_strata: int = Field(default=5, ge=1)
    estimand: Literal["ATT", "ATE"] = "ATT"


@register_model("subclassification")
class Subclassification:
    """Stratify on the estimated propensity score and average within-stratum contrasts."""

    Params: ClassVar[type[ModelParams]] = SubclassificationParams

    def estimate(self, frame: pd.DataFrame, params: SubclassificationParams, seed: int) -> Estimate:
        frame, missing = handle_missing(frame, params)
        y = numeric_column(frame, params.outcome_column, "outcome_column")
        treated = binary_column(frame, params.treatment_column, "treatment_column")
        covariates, coding = covariate_matrix(frame, params.covariate_columns)
        n_treated = int(treated.sum())
        require_sample_size(len(y), "rows")
        require_groups(n_treated, len(y) - n_treated)

        score = propensity_score(treated, covariates)
        strata = merge_thin_strata(quantile_strata(score, params.n_strata), treated)
        rows = []
        for s in np.unique(strata):
            y1 = y[(strata == s) & (treated == 1)]
            y0 = y[(strata == s) & (treated == 0)]
            weight = len(y1) if params.estimand == "ATT" else len(y1) + len(y0)
            variance = y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0)
            rows.append((weight, y1.mean() - y0.mean(), variance, len(y1), len(y0)))
        table = np.array(rows, dtype=float)
        weights = table[:, 0] / table[:, 0].sum()
        effect = float(weights @ table[:, 1])
        se = float(np.sqrt(weights**2 @ table[:, 2]))
        finite_or_fail("subclassification", effect, se)
        z = float(stats.norm.ppf(1 - params.alpha / 2))
        p_value, p_note = two_sided_p_value(effect / se, stats.norm) if se > 0 else (None, {})
        return Estimate(
            effect=effect,
            ci_lower=effect - z * se,
            ci_upper=effect + z * se,
            p_value=p_value,
            sample_size=len(y),
            n_treated=n_treated,
            n_control=len(y) - n_treated,
            diagnostics={
                "missing": missing,
                "estimand": params.estimand,
                "estimator": "propensity-score subclassification (logit score, quantile strata)",
                "variance": "sum of w_s^2 * var_s",
                "standard_error": se,
                "n_strata_used": len(rows),
                "covariate_coding": coding,
                "strata": [
                    {"weight": w, "difference": d, "n_treated": int(t), "n_control": int(c)}
                    for w, (_, d, _, t, c) in zip(weights.tolist(), table.tolist(), strict=True)
                ],
                "naive_difference": float(y[treated == 1].mean() - y[treated == 0].mean()),
                **p_note,
            },
        )


def propensity_score(treated: np.ndarray, covariates: np.ndarray) -> np.ndarray:
    """P(treated | covariates) from a logit fit."""
    design = add_constant(covariates, has_constant="add")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = Logit(treated, design).fit(disp=0, maxiter=100)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ComponentError(f"subclassification: propensity model failed: {exc}") from exc
    score = np.asarray(fit.predict(design))
    if not np.isfinite(score).all():
        raise ComponentError("subclassification: propensity model gave non-finite scores")
    return score


def quantile_strata(score: np.ndarray, n_strata: int) -> np.ndarray:
    """Stratum index 0..n_strata-1 by quantiles of ``score``."""
    edges = np.quantile(score, np.linspace(0, 1, n_strata + 1)[1:-1])
    return np.searchsorted(edges, score, side="right")


def merge_thin_strata(strata: np.ndarray, treated: np.ndarray, minimum: int = 2) -> np.ndarray:
    """Merge each stratum lacking ``minimum`` treated or controls into its neighbour."""
    strata = strata.copy()
    while True:
        labels = np.unique(strata)
        thin = [
            s
            for s in labels
            if min(((strata == s) & (treated == 1)).sum(), ((strata == s) & (treated == 0)).sum())
            < minimum
        ]
        if not thin:
            return strata
        if len(labels) == 1:
            raise ComponentError("subclassification: too few treated or control units")
        s = thin[0]
        position = int(np.searchsorted(labels, s))
        neighbour = labels[position - 1] if position > 0 else labels[position + 1]
        strata[strata == s] = neighbour
