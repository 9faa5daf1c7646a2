"""``metrics_approximation``: impact approximated from a metric change and a response.

``impact_i = response_coefficient * (metric_i - baseline_i)`` per unit; the effect
is their mean (``aggregation: mean``, default, per-unit like the other models) or
sum. The CI is a seeded percentile bootstrap over units in which every replicate
also draws the coefficient from N(response_coefficient, coefficient_se²), so the
coefficient's stated uncertainty is propagated. No p-value: none is defined.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from impact_measure.models.base import (
    Estimate,
    ModelParams,
    finite_or_fail,
    handle_missing,
    numeric_column,
    register_model,
    require_sample_size,
)


class MetricsApproximationParams(ModelParams):
    metric_column: str
    baseline_column: str
    response_coefficient: float
    coefficient_se: float = Field(default=0.0, ge=0.0)
    aggregation: Literal["mean", "sum"] = "mean"
    n_bootstrap: int = Field(default=1000, ge=100)


@register_model("metrics_approximation")
class MetricsApproximation:
    """Linear response to a metric change, with bootstrap + coefficient uncertainty."""

    Params: ClassVar[type[ModelParams]] = MetricsApproximationParams

    def estimate(
        self, frame: pd.DataFrame, params: MetricsApproximationParams, seed: int
    ) -> Estimate:
        frame, missing = handle_missing(frame, params)
        metric = numeric_column(frame, params.metric_column, "metric_column")
        baseline = numeric_column(frame, params.baseline_column, "baseline_column")
        delta = metric - baseline
        n = len(delta)
        require_sample_size(n, "rows")
        scale = 1.0 if params.aggregation == "mean" else float(n)

        effect = params.response_coefficient * float(delta.mean()) * scale
        rng = np.random.default_rng(seed)
        resampled = delta[rng.integers(0, n, size=(params.n_bootstrap, n))].mean(axis=1)
        coefficients = rng.normal(
            params.response_coefficient, params.coefficient_se, params.n_bootstrap
        )
        draws = coefficients * resampled * scale
        lower, upper = np.quantile(draws, [params.alpha / 2, 1 - params.alpha / 2])
        finite_or_fail("metrics_approximation", effect, float(lower), float(upper))
        return Estimate(
            effect=effect,
            ci_lower=min(float(lower), effect),
            ci_upper=max(float(upper), effect),
            p_value=None,
            sample_size=n,
            diagnostics={
                "missing": missing,
                "estimand": f"approximated impact ({params.aggregation} over units)",
                "estimator": "response_coefficient * (metric - baseline)",
                "ci_method": "percentile bootstrap over units + coefficient draws",
                "n_bootstrap": params.n_bootstrap,
                "mean_metric_change": float(delta.mean()),
                "response_coefficient": params.response_coefficient,
                "coefficient_se": params.coefficient_se,
                "bootstrap_se": float(draws.std(ddof=1)),
                "evidence_grade": "lowest: assumed response, not a causal design",
            },
        )
