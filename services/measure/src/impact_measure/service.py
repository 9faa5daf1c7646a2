"""MEASURE service: measures one initiative per command, pilot or scale.

Consumes ``measure_requested`` (key ``run_id:initiative_id``, spread over replicas).
Produces ``measure_completed`` (key ``run_id``), or ``stage_failed`` when the command
cannot be completed. Start with ``python -m impact_measure.service``.
"""

from __future__ import annotations

from impact_runtime import ServiceSettings
from impact_runtime.stage_handler import run_stage
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from impact_measure.handler import MeasureHandler


class Settings(ServiceSettings):
    """Environment: ``IMPACT_*`` plus ``KAFKA_BOOTSTRAP_SERVERS``/``SCHEMA_REGISTRY_URL``."""

    model_config = SettingsConfigDict(env_prefix="IMPACT_", frozen=True)

    service_name: str = "measure"
    data_root: str | None = Field(None, description="IMPACT_DATA_ROOT: files must lie inside.")


def build_handler(settings: Settings) -> MeasureHandler:
    """The stage handler: command in, ``measure_completed`` out (``impact_measure.handler``)."""
    return MeasureHandler(data_root=settings.data_root)


def main() -> None:
    settings = Settings()
    run_stage(settings, build_handler(settings))


if __name__ == "__main__":
    main()
