"""The ALLOCATE stage as one pure function: an ``allocate_requested`` command in, the
``allocate_completed`` event out. The service and embedded mode both call it (no Kafka)."""

from __future__ import annotations

from impact_contracts import ComponentCatalog
from impact_contracts.stage_handler import StageHandler

from impact_allocate.catalog import ALLOCATE_COMPONENTS

STAGE = "allocate"


class AllocateHandler(StageHandler):
    """``handler(command) -> ("allocate_completed", {result})``."""

    stage = STAGE
    reads = ("budget", "initiatives")
    builtins = "impact_allocate.component"
    cache_size = 16

    def __init__(self, catalog: ComponentCatalog = ALLOCATE_COMPONENTS) -> None:
        super().__init__(catalog)
