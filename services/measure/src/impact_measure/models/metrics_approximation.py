"""``metrics_approximation``: impact approximated from a metric change and a response.

Each unit's change is ``delta_i = metric_i - baseline_i`` (e.g. post-period visits minus
pre-period visits). The approximated impact applies the response coefficient to it:

- with ``treatment_column`` (recommended): ``β · (mean delta of treated - mean delta of
  controls)``, the response to the change in the metric that the treatment caused
  (a difference in differences of the metric), so time trends common to both groups cancel;
- without: ``β · mean delta`` over all units, a before-after change that attributes every
  change of the metric to the initiative.

``aggregation: mean`` (default) is per treated unit like the other models; ``sum`` multiplies
by the treated units (or all units without ``treatment_column``). The CI is a seeded
percentile bootstrap over units (within each group) in which every replicate also draws the
coefficient from N(response_coefficient, coefficient_se²), so the coefficient's stated
uncertainty is propagated. No p-value: none is defined. The lowest evidence grade: the
response is assumed, not estimated.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from impact_measure.models.base import Estimate, ModelParams, finite_or_fail, register_model
from impact_measure.models.columns import (
    binary_column,
    handle_missing,
    numeric_column,
    require_groups,
    require_sample_size,
)


class MetricsApproximationParams(ModelParams):
    metric_column: str
    baseline_column: str
    response_coefficient: float
    coefficient_se: float = Field(default=0.0, ge=0.0)
    treatment_column: str | None = None
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
        if params.treatment_column is None:
            groups = [delta]
        else:
            treated = binary_column(frame, params.treatment_column, "treatment_column")
            require_groups(int(treated.sum()), int(n - treated.sum()))
            groups = [delta[treated == 1], delta[treated == 0]]
        scale = 1.0 if params.aggregation == "mean" else float(len(groups[0]))

        change = float(_contrast([g.mean() for g in groups]))
        effect = params.response_coefficient * change * scale
        rng = np.random.default_rng(seed)
        resampled = _contrast(
            [
                g[rng.integers(0, len(g), size=(params.n_bootstrap, len(g)))].mean(axis=1)
                for g in groups
            ]
        )
        coefficients = rng.normal(
            params.response_coefficient, params.coefficient_se, params.n_bootstrap
        )
        draws = coefficients * resampled * scale
        lower, upper = np.quantile(draws, [params.alpha / 2, 1 - params.alpha / 2])
        finite_or_fail("metrics_approximation", effect, float(lower), float(upper))
        contrast = params.treatment_column is not None
        return Estimate(
            effect=effect,
            ci_lower=min(float(lower), effect),
            ci_upper=max(float(upper), effect),
            p_value=None,
            sample_size=n,
            n_treated=len(groups[0]) if contrast else None,
            n_control=len(groups[1]) if contrast else None,
            diagnostics={
                "missing": missing,
                "estimand": (
                    "approximated impact: response_coefficient x (treated - control) change of "
                    f"the metric from its baseline ({params.aggregation} over treated units)"
                    if contrast
                    else "approximated impact: response_coefficient x change of the metric "
                    f"from its baseline, all units ({params.aggregation}; before-after, no "
                    "control group)"
                ),
                "estimator": "response_coefficient * (mean delta treated - mean delta control)"
                if contrast
                else "response_coefficient * mean(metric - baseline)",
                "ci_method": "percentile bootstrap over units + coefficient draws",
                "n_bootstrap": params.n_bootstrap,
                "mean_metric_change": float(delta.mean()),
                "metric_change_contrast": float(change),
                "response_coefficient": params.response_coefficient,
                "coefficient_se": params.coefficient_se,
                "bootstrap_se": float(draws.std(ddof=1)),
                "evidence_grade": "lowest: assumed response, not a causal design",
            },
        )


def _contrast(means: list[np.ndarray] | list[float]) -> np.ndarray:
    """Treated minus control means, or the one group's mean."""
    return np.asarray(means[0]) - np.asarray(means[1]) if len(means) == 2 else np.asarray(means[0])
