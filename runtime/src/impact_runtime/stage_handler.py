"""Runs a stage handler (``impact_contracts.stage_handler.StageHandler``) as the stage's
Kafka service: the one ``main`` of MEASURE, EVALUATE and ALLOCATE."""

from __future__ import annotations

from impact_contracts.stage_handler import StageHandler

from impact_runtime.settings import ServiceSettings
from impact_runtime.stage import stage_handler


def run_stage(settings: ServiceSettings, handler: StageHandler) -> None:
    """Run ``handler`` as the stage's Kafka service until SIGTERM: it consumes
    ``<stage>_requested`` and produces ``<stage>_completed`` (or ``stage_failed``)."""
    from impact_runtime.service import Service, run_service  # Kafka: only when served

    service = Service(
        settings,
        [f"{handler.stage}_requested"],
        stage_handler(handler),
        failure_stage=handler.stage,
    )
    run_service(service)
