"""The orchestrator's settings (environment variables ``IMPACT_*``)."""

from __future__ import annotations

from impact_runtime import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

#: A run starts with one transaction of 100,000 commands at most (the manifest limit);
#: the broker refuses a producer asking more than its transaction.max.timeout.ms.
FAN_OUT_TRANSACTION_TIMEOUT_MS = 900_000


class Settings(ServiceSettings):
    """Environment: ``IMPACT_*`` plus ``KAFKA_BOOTSTRAP_SERVERS``/``SCHEMA_REGISTRY_URL``."""

    model_config = SettingsConfigDict(env_prefix="IMPACT_", frozen=True)

    service_name: str = "orchestrator"
    changelog_topic: str = Field(
        "impact.orchestrator.changelog", description="IMPACT_CHANGELOG_TOPIC (compacted)."
    )
    tick_interval_s: float = Field(1.0, gt=0, description="IMPACT_TICK_INTERVAL_S: deadlines.")
    transaction_timeout_ms: int = Field(
        FAN_OUT_TRANSACTION_TIMEOUT_MS,
        ge=1000,
        description="IMPACT_TRANSACTION_TIMEOUT_MS: 15 min (the broker's default "
        "transaction.max.timeout.ms): a run's fan-out (one command per initiative) is one "
        "transaction with its manifest and offset (decision 0045).",
    )
    max_poll_interval_ms: int = Field(
        FAN_OUT_TRANSACTION_TIMEOUT_MS,
        ge=1000,
        description="IMPACT_MAX_POLL_INTERVAL_MS: 15 min, as long as a fan-out's transaction "
        "may take; a replica that exceeds it leaves the group and its commit is refused.",
    )
