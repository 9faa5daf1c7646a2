"""MEASURE stage: the pure ``Measure`` component (six causal models). No Kafka here.

from impact_measure import MEASURE_COMPONENTS
result = MEASURE_COMPONENTS.create("Measure").execute(event)

The names below load on first use (PEP 562), together with every built-in component,
model, source and transform, so that importing a submodule (the service's handler, the
orchestrator's storage paths) does not import numpy, pandas, scipy and statsmodels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from impact_contracts.lazy import load_lazily

if TYPE_CHECKING:
    from impact_measure.catalog import MEASURE_COMPONENTS
    from impact_measure.component import Measure, MockMeasure
    from impact_measure.models import MODELS, Estimate, register_model
    from impact_measure.sources import SOURCES, register_source
    from impact_measure.transforms import TRANSFORMS, register_transform

_HOMES = {
    "Measure": "impact_measure.component",
    "MockMeasure": "impact_measure.component",
    "MODELS": "impact_measure.models",
    "Estimate": "impact_measure.models",
    "register_model": "impact_measure.models",
    "MEASURE_COMPONENTS": "impact_measure.catalog",
    "SOURCES": "impact_measure.sources",
    "register_source": "impact_measure.sources",
    "TRANSFORMS": "impact_measure.transforms",
    "register_transform": "impact_measure.transforms",
}


def __getattr__(name: str) -> Any:
    """Load the built-ins (they register themselves), then return ``name``."""
    return load_lazily(__name__, _HOMES, name, first="impact_measure.component")


__all__ = [
    "MEASURE_COMPONENTS",
    "MODELS",
    "SOURCES",
    "TRANSFORMS",
    "Estimate",
    "Measure",
    "MockMeasure",
    "register_model",
    "register_source",
    "register_transform",
]
