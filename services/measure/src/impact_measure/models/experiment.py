"""``experiment``: ATE by OLS with Lin (2013) covariate adjustment and HC2 robust SEs."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.linear_model import OLS

from impact_measure.models.base import (
    Estimate,
    ModelParams,
    finite_or_fail,
    register_model,
    two_sided_p_value,
)
from impact_measure.models.covariates import cross_section


class ExperimentParams(ModelParams):
    outcome_column: str
    treatment_column: str
    covariate_columns: list[str] = []


@register_model("experiment")
class Experiment:
    """Regress the outcome on treatment, centred covariates and their interactions.

    The treatment coefficient estimates the ATE; its CI and p-value are t-based
    with HC2 heteroskedasticity-robust standard errors (statsmodels).
    """

    Params: ClassVar[type[ModelParams]] = ExperimentParams

    def estimate(self, frame: pd.DataFrame, params: ExperimentParams, seed: int) -> Estimate:
        data = cross_section(frame, params)
        y, treated, covariates = data.y, data.treated, data.covariates
        missing, coding, n_treated = data.missing, data.coding, data.n_treated

        centred = covariates - covariates.mean(axis=0)
        design = np.column_stack([np.ones_like(y), treated, centred, centred * treated[:, None]])
        fit = OLS(y, design).fit(cov_type="HC2", use_t=True)
        lower, upper = fit.conf_int(alpha=params.alpha)[1]
        effect, se = float(fit.params[1]), float(fit.bse[1])
        p_value, p_note = two_sided_p_value(float(fit.tvalues[1]), stats.t(fit.df_resid))
        finite_or_fail("experiment", effect, se, lower, upper)
        return Estimate(
            effect=effect,
            ci_lower=float(lower),
            ci_upper=float(upper),
            p_value=p_value,
            sample_size=len(y),
            n_treated=n_treated,
            n_control=len(y) - n_treated,
            diagnostics={
                "missing": missing,
                "estimand": "ATE",
                "estimator": "OLS, covariates centred and interacted with treatment (Lin 2013)",
                "standard_error": se,
                "se_type": "HC2",
                "ci_method": "t",
                "df_resid": float(fit.df_resid),
                "naive_difference": float(y[treated == 1].mean() - y[treated == 0].mean()),
                "covariates": list(params.covariate_columns),
                "covariate_coding": coding,
                **p_note,
            },
        )
