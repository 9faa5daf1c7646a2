"""MEASURE service: measures one initiative per command, pilot or scale.

Consumes ``measure_requested`` (key ``run_id:initiative_id``, spread over replicas).
Produces ``measure_completed`` (key ``run_id``), or ``stage_failed`` when the component
rejects a valid command. Start with ``python -m impact_measure.service``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from impact_runtime import Incoming, Outgoing, Output, Service, ServiceSettings, run_service
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from impact_measure import MEASURE_COMPONENTS


class Settings(ServiceSettings):
    """Environment: ``IMPACT_*`` plus ``KAFKA_BOOTSTRAP_SERVERS``/``SCHEMA_REGISTRY_URL``."""

    model_config = SettingsConfigDict(env_prefix="IMPACT_", frozen=True)

    service_name: str = "measure"
    data_root: str | None = Field(None, description="IMPACT_DATA_ROOT: files must lie inside.")


def build_handler(settings: Settings) -> Any:
    """The handler: command in, ``measure_completed`` out."""

    @lru_cache(maxsize=64)
    def component(name: str, kwargs_json: str) -> Any:
        kwargs = json.loads(kwargs_json)
        if settings.data_root is not None:
            kwargs["data_root"] = settings.data_root
        return MEASURE_COMPONENTS.create(name, **kwargs)

    def handle(msg: Incoming) -> list[Output]:
        cmd = msg.value
        measure = component(cmd["component"], json.dumps(cmd["component_kwargs"], sort_keys=True))
        result = measure.execute(
            {
                "initiative_id": cmd["initiative_id"],
                "phase": cmd["phase"],
                "measure_config": cmd["measure_config"],
                "sample_size": cmd["sample_size"],
                "seed": cmd["seed"],
            }
        )
        payload = {"initiative_id": cmd["initiative_id"], "phase": cmd["phase"], "result": result}
        return [Outgoing("measure_completed", key=cmd["run_id"], value=payload)]

    return handle


def main() -> None:
    settings = Settings()
    run_service(
        Service(settings, ["measure_requested"], build_handler(settings), failure_stage="measure")
    )


if __name__ == "__main__":
    main()
