"""ALLOCATE stage: minimax-regret and Bayesian portfolio selection (PuLP/CBC).

Pure component (no Kafka): ``ALLOCATE_COMPONENTS.create("MinimaxRegretAllocate").execute(event)``.
The Kafka service lives in ``impact_allocate.service``. The names below load on first use
(PEP 562), so importing the service's handler does not import numpy, SciPy and PuLP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from impact_contracts.lazy import load_lazily

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    """Load ``impact_allocate.component`` (the built-ins register there) on first use."""
    return load_lazily(__name__, dict.fromkeys(__all__, "impact_allocate.component"), name)
