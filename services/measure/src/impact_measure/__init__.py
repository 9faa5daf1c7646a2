"""MEASURE stage: the pure ``Measure`` component (six causal models). No Kafka here.

from impact_measure import MEASURE_COMPONENTS
result = MEASURE_COMPONENTS.create("Measure").execute(event)
"""

from impact_measure.component import Measure, MockMeasure
from impact_measure.models import MODELS, Estimate, register_model
from impact_measure.registry import MEASURE_COMPONENTS
from impact_measure.sources import SOURCES, register_source
from impact_measure.transforms import TRANSFORMS, register_transform

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
