"""Service settings: one frozen pydantic-settings model, read from ``IMPACT_*`` env vars."""

from __future__ import annotations

from typing import Literal

from impact_kafka.config import MIB, KafkaConnectionSettings
from impact_kafka.replication import MinInsyncReplicas, ReplicationFactor
from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

ProcessingGuarantee = Literal["exactly_once", "at_least_once"]
LogFormat = Literal["json", "console"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
OffsetReset = Literal["earliest", "latest"]


def _env(name: str, *fallbacks: str) -> AliasChoices:
    """Accept the field's ``IMPACT_`` env var, the listed fallbacks and the field name."""
    return AliasChoices(f"IMPACT_{name.upper()}", *fallbacks, name)


class ServiceSettings(KafkaConnectionSettings):
    """Settings shared by every service (the Kafka connection ones from
    ``KafkaConnectionSettings``); each field names its env var."""

    model_config = SettingsConfigDict(
        env_prefix="IMPACT_", frozen=True, extra="ignore", populate_by_name=True
    )

    service_name: str = Field(description="IMPACT_SERVICE_NAME: name in logs, metrics, DLQ.")
    schema_registry_url: str = Field(
        default="http://127.0.0.1:8081",
        validation_alias=_env("schema_registry_url", "SCHEMA_REGISTRY_URL"),
        description="IMPACT_SCHEMA_REGISTRY_URL or SCHEMA_REGISTRY_URL.",
    )
    topic_prefix: str = Field("impact.", description="IMPACT_TOPIC_PREFIX.")
    group_id: str | None = Field(
        None, description="IMPACT_GROUP_ID; default impact-<service_name>."
    )
    transactional_id: str | None = Field(
        None,
        description="IMPACT_TRANSACTIONAL_ID. Default: <group_id>-<random>, unique per "
        "process. A replica the group expelled cannot commit either way: each commit first "
        "confirms the group generation (decision 0055).",
    )
    processing_guarantee: ProcessingGuarantee = Field(
        "exactly_once", description="IMPACT_PROCESSING_GUARANTEE."
    )
    max_retries: int = Field(
        5, ge=0, description="IMPACT_MAX_RETRIES: retries of a RetryableError."
    )
    retry_backoff_s: float = Field(
        0.2, gt=0, description="IMPACT_RETRY_BACKOFF_S: first delay, doubled per retry."
    )
    retry_backoff_max_s: float = Field(
        5.0, gt=0, description="IMPACT_RETRY_BACKOFF_MAX_S: cap of the retry delay."
    )
    http_host: str = Field("127.0.0.1", description="IMPACT_HTTP_HOST (0.0.0.0 in containers).")
    http_port: int = Field(
        0, ge=0, le=65535, description="IMPACT_HTTP_PORT: 0 binds an ephemeral port (logged)."
    )
    log_level: LogLevel = Field("INFO", description="IMPACT_LOG_LEVEL.")
    log_format: LogFormat = Field("json", description="IMPACT_LOG_FORMAT: json or console.")
    topic_partitions: int = Field(
        6, ge=1, description="IMPACT_TOPIC_PARTITIONS: partitions of topics the service creates."
    )
    topic_replication_factor: ReplicationFactor = "auto"
    topic_min_insync_replicas: MinInsyncReplicas = "auto"
    auto_offset_reset: OffsetReset = Field("earliest", description="IMPACT_AUTO_OFFSET_RESET.")
    fetch_max_wait_ms: int = Field(
        500,
        ge=0,
        description="IMPACT_FETCH_MAX_WAIT_MS: longest time the broker holds a fetch while "
        "no record is ready (a record ends the wait at once: fetch_min_bytes is 1). A few "
        "ms makes an idle replica fetch hundreds of times a second (~10 % of a core).",
    )
    max_poll_records: int = Field(50, ge=1, description="IMPACT_MAX_POLL_RECORDS: batch size.")
    poll_timeout_ms: int = Field(
        200, ge=1, description="IMPACT_POLL_TIMEOUT_MS: longest wait for a batch (stop latency)."
    )
    commit_interval_s: float = Field(
        0.0,
        ge=0,
        description="IMPACT_COMMIT_INTERVAL_S: at_least_once only, least seconds between "
        "offset commits (0: after every batch). exactly_once commits every batch.",
    )
    delivery_stall_s: float = Field(
        5.0,
        gt=0,
        description="IMPACT_DELIVERY_STALL_S: a batch delivery that sent and acknowledged "
        "nothing for this many seconds means the broker is unreachable: readyz 503 and one "
        "log line per backoff step until it completes (the client keeps retrying; nothing "
        "is dropped). A long delivery that keeps moving (a large fan-out) is not a stall.",
    )
    transaction_timeout_ms: int = Field(
        60_000,
        ge=1000,
        description="IMPACT_TRANSACTION_TIMEOUT_MS: longest time from a transaction's first "
        "send to its commit; must cover sending a batch's records (decision 0045).",
    )
    producer_retry_backoff_ms: int = Field(
        20,
        ge=1,
        description="IMPACT_PRODUCER_RETRY_BACKOFF_MS: the producer's wait before it retries "
        "a request. A transaction that starts while the broker still writes the previous "
        "one's markers is refused (CONCURRENT_TRANSACTIONS) and retried after this wait; "
        "aiokafka's default of 100 ms puts a 100 ms tail on exactly-once hops. "
        "Java's producer retries that case after 20 ms too.",
    )
    session_timeout_ms: int = Field(
        10_000,
        ge=1000,
        description="IMPACT_SESSION_TIMEOUT_MS: a replica without a heartbeat for this long "
        "is expelled from its group and its partitions go to another replica; a batch it "
        "still holds then aborts instead of committing (decision 0055).",
    )
    max_poll_interval_ms: int = Field(
        300_000,
        ge=1000,
        description="IMPACT_MAX_POLL_INTERVAL_MS: a replica that does not poll for this long "
        "leaves its group. The loop keeps polling (paused) while a batch is handled, so "
        "only a stuck loop reaches it (decision 0079).",
    )
    handler_timeout_s: float = Field(
        1800.0,
        gt=0,
        description="IMPACT_HANDLER_TIMEOUT_S: longest run of the handler for one message; "
        "a slower one ends its command with stage_failed (HandlerTimedOut). The consumer "
        "keeps polling while a batch is handled, so handling may outlast "
        "max_poll_interval_ms (decision 0079).",
    )
    metadata_max_age_ms: int = Field(
        300_000,
        ge=1000,
        description="IMPACT_METADATA_MAX_AGE_MS: longest time before the clients refresh "
        "their topic metadata, so partitions added to a topic are consumed and produced "
        "to within it (decision 0079).",
    )
    max_batch_bytes: int = Field(
        MIB,
        ge=16_384,
        description="IMPACT_MAX_BATCH_BYTES: producer record batch per partition, default "
        "1 MiB (aiokafka's 16 KiB costs one round trip per 16 KiB of a large fan-out).",
    )
    read_to_end_timeout_s: float = Field(
        300.0,
        gt=0,
        description="IMPACT_READ_TO_END_TIMEOUT_S: longest wait to read a topic to its "
        "end (the orchestrator's changelog restore).",
    )
    plugins: str = Field(
        "",
        description="IMPACT_PLUGINS: comma-separated modules imported before the service "
        "starts, e.g. components that register themselves by name.",
    )

    @model_validator(mode="after")
    def _default_group_id(self) -> ServiceSettings:
        if self.group_id is None:
            object.__setattr__(self, "group_id", f"impact-{self.service_name}")
        return self

    @property
    def rebalance_timeout_ms(self) -> int:
        """How long the group waits for this member to rejoin: a revocation lets the batch
        in flight finish its current handler and deliver what it handled (0079)."""
        handling_ms = int(self.handler_timeout_s * 1000) + self.transaction_timeout_ms
        return max(self.max_poll_interval_ms, handling_ms)

    @property
    def client_id(self) -> str:
        """The Kafka client id: the service name."""
        return self.service_name

    @property
    def consumer_group(self) -> str:
        """The effective consumer group id (never None after validation)."""
        return self.group_id or f"impact-{self.service_name}"
