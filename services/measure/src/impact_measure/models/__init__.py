"""The six causal models; importing this package registers them in ``MODELS``.

Plugin models (entry points ``impact_engine.models``) join through ``load_model_plugins``."""

from impact_measure.models import (  # noqa: F401  (registration side effects)
    experiment,
    its,
    matching,
    metrics_approximation,
    subclassification,
    synthetic_control,
)
from impact_measure.models.base import (
    DESIGNS,
    ENTRY_POINT_GROUP,
    MODELS,
    Estimate,
    Model,
    ModelParams,
    design_of,
    load_model_plugins,
    register_model,
)

__all__ = [
    "DESIGNS",
    "ENTRY_POINT_GROUP",
    "MODELS",
    "Estimate",
    "Model",
    "ModelParams",
    "design_of",
    "load_model_plugins",
    "register_model",
]
