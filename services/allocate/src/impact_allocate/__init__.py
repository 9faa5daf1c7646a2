"""ALLOCATE stage: minimax-regret and Bayesian portfolio selection (PuLP/CBC).

Pure component (no Kafka): ``ALLOCATE_COMPONENTS.create("MinimaxRegretAllocate").execute(event)``.
The Kafka service lives in ``impact_allocate.service``. The names below load on first use
(PEP 562), so importing the service's handler does not import numpy, SciPy and PuLP.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    if name not in __all__:
        raise AttributeError(f"module 'impact_allocate' has no attribute {name!r}")
    return getattr(importlib.import_module("impact_allocate.component"), name)
