"""Kafka connection settings and client options (the runtime, the registry server, the CLI).

* :class:`KafkaClientSettings`: connection (bootstrap, SASL, SSL) and event-size settings
  from ``IMPACT_*`` env vars, for clients that are not services (registry, CLI). Services
  use ``impact_runtime.ServiceSettings``, which inherits the same fields from
  :class:`KafkaConnectionSettings`.
* ``client_options`` / ``producer_options`` / ``consumer_options`` / ``topic_configs``:
  the one place that turns those settings into aiokafka arguments and topic configs.

``impact_runtime.kafka`` builds the service's clients from these options; the registry
server and the CLI use these options too. Importing this module does not import aiokafka.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
CompressionType = Literal["none", "gzip", "snappy", "lz4", "zstd"]
IsolationLevel = Literal["read_committed", "read_uncommitted"]

MIB = 1024 * 1024
#: Largest event (key + value + headers, before compression). A 100,000-initiative run's
#: biggest record is its ``manifest_submitted`` (about 27 MB, docs/interfaces.md "Sizes").
DEFAULT_MAX_MESSAGE_BYTES = 64 * MIB
#: Room above the event limit for the record-batch header and for compression, which can
#: grow incompressible data (the orchestrator's zlib'd changelog) by a few bytes per block.
BATCH_HEADROOM_BYTES = 1 * MIB
#: aiokafka's default ``fetch_max_bytes``: a consumer's fetch never shrinks below it.
DEFAULT_FETCH_MAX_BYTES = 50 * MIB
DEFAULT_COMPRESSION: CompressionType = "gzip"

#: The size fields, shared with ``impact_runtime.ServiceSettings`` (one definition).
Compression = Annotated[
    CompressionType,
    Field(
        description="IMPACT_COMPRESSION_TYPE: producer compression, default gzip (needs no "
        "extra package; snappy, lz4 and zstd need theirs)."
    ),
]
MaxMessageBytes = Annotated[
    int,
    Field(
        ge=1024,
        description="IMPACT_MAX_MESSAGE_BYTES: largest event before compression, default "
        "64 MiB; sets producer, consumer and topic limits (the local broker reads it too).",
    ),
]


class KafkaClientConfig(Protocol):
    """What the option builders read (``KafkaClientSettings`` and ``ServiceSettings``)."""

    @property
    def bootstrap_servers(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def security_protocol(self) -> str: ...
    @property
    def sasl_mechanism(self) -> str | None: ...
    @property
    def sasl_username(self) -> str | None: ...
    @property
    def sasl_password(self) -> SecretStr | None: ...
    @property
    def ssl_cafile(self) -> str | None: ...
    @property
    def ssl_certfile(self) -> str | None: ...
    @property
    def ssl_keyfile(self) -> str | None: ...
    @property
    def ssl_key_password(self) -> SecretStr | None: ...
    @property
    def compression_type(self) -> str: ...
    @property
    def max_message_bytes(self) -> int: ...


class KafkaConnectionSettings(BaseSettings):
    """Kafka connection and size settings shared by every client of this project (the
    services' ``ServiceSettings``, the registry and the CLI); each field names its env var."""

    model_config = SettingsConfigDict(
        env_prefix="IMPACT_", frozen=True, extra="ignore", populate_by_name=True
    )

    bootstrap_servers: str = Field(
        validation_alias=AliasChoices(
            "IMPACT_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS", "bootstrap_servers"
        ),
        description="IMPACT_BOOTSTRAP_SERVERS or KAFKA_BOOTSTRAP_SERVERS: host:port[,...].",
    )
    security_protocol: SecurityProtocol = Field(
        "PLAINTEXT", description="IMPACT_SECURITY_PROTOCOL."
    )
    sasl_mechanism: str | None = Field(None, description="IMPACT_SASL_MECHANISM, e.g. PLAIN.")
    sasl_username: str | None = Field(None, description="IMPACT_SASL_USERNAME.")
    sasl_password: SecretStr | None = Field(None, description="IMPACT_SASL_PASSWORD.")
    ssl_cafile: str | None = Field(None, description="IMPACT_SSL_CAFILE: CA bundle path.")
    ssl_certfile: str | None = Field(
        None, description="IMPACT_SSL_CERTFILE: client certificate (PEM) for mutual TLS."
    )
    ssl_keyfile: str | None = Field(
        None, description="IMPACT_SSL_KEYFILE: the certificate's private key (PEM)."
    )
    ssl_key_password: SecretStr | None = Field(
        None, description="IMPACT_SSL_KEY_PASSWORD: password of an encrypted key."
    )
    compression_type: Compression = DEFAULT_COMPRESSION
    max_message_bytes: MaxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES


class KafkaClientSettings(KafkaConnectionSettings):
    """The connection settings plus a client id (the registry, the CLI)."""

    client_id: str = Field("impact", description="IMPACT_CLIENT_ID: client id in broker logs.")


def batch_limit(max_message_bytes: int) -> int:
    """Broker-side limit (``max.message.bytes``) for events up to ``max_message_bytes``."""
    return max_message_bytes + BATCH_HEADROOM_BYTES


def client_options(config: KafkaClientConfig) -> dict[str, Any]:
    """Connection options shared by producer, consumer and admin client (SASL, SSL)."""
    options: dict[str, Any] = {
        "bootstrap_servers": config.bootstrap_servers,
        "client_id": config.client_id,
        "security_protocol": config.security_protocol,
    }
    if config.security_protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        password = config.ssl_key_password
        options["ssl_context"] = create_ssl_context(
            cafile=config.ssl_cafile,
            certfile=config.ssl_certfile,
            keyfile=config.ssl_keyfile,
            password=None if password is None else password.get_secret_value(),
        )
    if config.sasl_mechanism:
        options["sasl_mechanism"] = config.sasl_mechanism
        options["sasl_plain_username"] = config.sasl_username
        if config.sasl_password is not None:
            options["sasl_plain_password"] = config.sasl_password.get_secret_value()
    return options


def producer_options(config: KafkaClientConfig) -> dict[str, Any]:
    """Connection options plus compression and the largest record a producer sends."""
    compression = None if config.compression_type == "none" else config.compression_type
    return {
        **client_options(config),
        "compression_type": compression,
        "max_request_size": config.max_message_bytes,
    }


def consumer_options(config: KafkaClientConfig) -> dict[str, Any]:
    """Connection options plus fetch sizes that fit the largest record batch.

    aiokafka skips (with a log line) a batch larger than ``max_partition_fetch_bytes``.
    """
    limit = batch_limit(config.max_message_bytes)
    return {
        **client_options(config),
        "max_partition_fetch_bytes": limit,
        "fetch_max_bytes": max(limit, DEFAULT_FETCH_MAX_BYTES),
    }


def topic_configs(config: KafkaClientConfig) -> dict[str, str]:
    """Configs of every topic the project creates, so its largest events fit."""
    return {"max.message.bytes": str(batch_limit(config.max_message_bytes))}
