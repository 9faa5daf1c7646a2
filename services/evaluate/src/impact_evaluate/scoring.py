"""Deterministic confidence scoring: a design-strength range per model, placed by evidence.

``confidence = low + (high - low) * evidence`` where ``evidence`` in [0, 1] is a weighted
mean of three sub-scores, each monotone in one input:

* precision  = 1 / (1 + relative_ci_width / 2), with
  relative_ci_width = (ci_upper - ci_lower) / |effect_estimate| (0 effect -> precision 0);
  a 95% CI that just excludes zero (|t| = 1.96) has relative width 2 and precision 0.5.
* size       = n / (n + sample_size_half): larger samples score higher, where n counts
  the independent units of the design: ``n_treated + n_control`` when the model reports
  them, else ``n_pre + n_post`` periods (a single time series), else ``sample_size``.
  ``sample_size`` counts unit-level rows (product-days for a panel), which would rate a
  long panel far above a large randomised cross-section.
* significance = 1 - p_value, only when the method reports a p-value; when it does not,
  its weight is dropped and the other two weights are renormalised.

Pure float arithmetic (no randomness, no ``hash()``): the same input gives the same
score in every process.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from impact_contracts import MODEL_TYPES, ConfigError, MeasureResult

#: Design-strength range (low, high) per model type, strongest design first.
DEFAULT_DESIGN_RANGES: dict[str, tuple[float, float]] = {
    "experiment": (0.80, 0.95),
    "synthetic_control": (0.60, 0.80),
    "nearest_neighbour_matching": (0.60, 0.80),
    "subclassification": (0.60, 0.80),
    "interrupted_time_series": (0.45, 0.65),
    "metrics_approximation": (0.20, 0.40),
}


@dataclass(frozen=True)
class EvidenceWeights:
    """Relative weights of the evidence sub-scores (must be >= 0, precision + size > 0)."""

    precision: float = 0.5
    size: float = 0.3
    significance: float = 0.2


def build_design_ranges(
    overrides: Mapping[str, object] | None = None,
) -> dict[str, tuple[float, float]]:
    """The default ranges with ``overrides`` applied; raises ``ConfigError`` naming the key."""
    ranges = dict(DEFAULT_DESIGN_RANGES)
    for model, bounds in (overrides or {}).items():
        if model not in MODEL_TYPES:
            raise ConfigError(f"design_ranges.{model}: unknown model type; known: {MODEL_TYPES}")
        try:
            low, high = (float(b) for b in bounds)  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            raise ConfigError(
                f"design_ranges.{model}: expected [low, high], got {bounds!r}"
            ) from None
        if not 0.0 <= low <= high <= 1.0:
            raise ConfigError(f"design_ranges.{model}: need 0 <= low <= high <= 1, got {bounds!r}")
        ranges[model] = (low, high)
    return ranges


def precision_score(effect: float, ci_lower: float, ci_upper: float) -> float:
    """1 / (1 + relative CI width / 2); 0 when the effect is exactly 0."""
    if effect == 0.0:
        return 0.0
    relative_width = (ci_upper - ci_lower) / abs(effect)
    return 1.0 / (1.0 + relative_width / 2.0)


def size_score(sample_size: int, sample_size_half: float) -> float:
    """n / (n + half): 0.5 at ``sample_size_half``."""
    return sample_size / (sample_size + sample_size_half)


def effective_size(measure: MeasureResult) -> int:
    """Independent units behind the estimate (see the module docstring)."""
    if measure.n_treated is not None and measure.n_control is not None:
        return measure.n_treated + measure.n_control
    if measure.n_pre is not None and measure.n_post is not None:
        return measure.n_pre + measure.n_post
    return measure.sample_size


def evidence_score(
    measure: MeasureResult, weights: EvidenceWeights, sample_size_half: float
) -> float:
    """Weighted mean of the sub-scores, in [0, 1]."""
    parts = [
        (
            weights.precision,
            precision_score(measure.effect_estimate, measure.ci_lower, measure.ci_upper),
        ),
        (weights.size, size_score(effective_size(measure), sample_size_half)),
    ]
    if measure.p_value is not None:
        parts.append((weights.significance, 1.0 - measure.p_value))
    total_weight = math.fsum(w for w, _ in parts)
    return math.fsum(w * s for w, s in parts) / total_weight


def confidence_score(
    measure: MeasureResult,
    ranges: Mapping[str, tuple[float, float]] = DEFAULT_DESIGN_RANGES,
    weights: EvidenceWeights = EvidenceWeights(),
    sample_size_half: float = 500.0,
) -> float:
    """Place the measurement inside its model's design range according to the evidence."""
    low, high = ranges[measure.model_type]
    score = low + (high - low) * evidence_score(measure, weights, sample_size_half)
    return min(high, max(low, score))
