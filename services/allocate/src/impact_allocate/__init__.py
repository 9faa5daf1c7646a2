"""ALLOCATE stage: minimax-regret and Bayesian portfolio selection (PuLP/CBC).

Pure component (no Kafka): ``ALLOCATE_COMPONENTS.create("MinimaxRegretAllocate").execute(event)``.
The Kafka service lives in ``impact_allocate.service``.
"""

from impact_allocate.component import (
    ALLOCATE_COMPONENTS,
    Allocate,
    BayesianAllocate,
    MinimaxRegretAllocate,
    MockAllocate,
)

__all__ = [
    "ALLOCATE_COMPONENTS",
    "Allocate",
    "BayesianAllocate",
    "MinimaxRegretAllocate",
    "MockAllocate",
]
