"""The EVALUATE stage as one pure function: an ``evaluate_requested`` command in, the
``evaluate_completed`` event out. The service and embedded mode both call it (no Kafka)."""

from __future__ import annotations

from impact_contracts import ComponentCatalog
from impact_contracts.stage_handler import StageHandler

from impact_evaluate.component import EVALUATE_COMPONENTS

STAGE = "evaluate"


class EvaluateHandler(StageHandler):
    """``handler(command) -> ("evaluate_completed", {initiative_id, result})``."""

    stage = STAGE
    reads = ("initiative_id", "cost_to_scale", "measure")
    echoes = ("initiative_id",)
    #: scoring one command takes well under a millisecond: no worker-thread hop
    on_event_loop = True

    def __init__(self, catalog: ComponentCatalog = EVALUATE_COMPONENTS) -> None:
        super().__init__(catalog)
