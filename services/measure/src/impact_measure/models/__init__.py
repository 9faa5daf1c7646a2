"""The six causal models; importing this package registers them in ``MODELS``."""

from impact_measure.models import (  # noqa: F401  (registration side effects)
    experiment,
    its,
    matching,
    metrics_approximation,
    subclassification,
    synthetic_control,
)
from impact_measure.models.base import MODELS, Estimate, Model, ModelParams, register_model

__all__ = ["MODELS", "Estimate", "Model", "ModelParams", "register_model"]
