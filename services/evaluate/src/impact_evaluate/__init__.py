"""EVALUATE stage: deterministic confidence scoring of pilot measurements.

Pure component (no Kafka): ``EVALUATE_COMPONENTS.create("Evaluate").execute(event)``.
The Kafka service lives in ``impact_evaluate.service``.
"""

from impact_evaluate.component import EVALUATE_COMPONENTS, Evaluate, MockEvaluate
from impact_evaluate.scoring import DEFAULT_DESIGN_RANGES, confidence_score

__all__ = [
    "DEFAULT_DESIGN_RANGES",
    "EVALUATE_COMPONENTS",
    "Evaluate",
    "MockEvaluate",
    "confidence_score",
]
