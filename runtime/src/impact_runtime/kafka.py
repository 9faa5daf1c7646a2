"""The service's aiokafka consumer and producer, built from ServiceSettings.

Connection, compression and size options come from ``impact_kafka.config``; creating
topics and reading them to their end are ``impact_kafka.topics`` and ``impact_kafka.read``.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from impact_kafka.config import consumer_options, producer_options

from impact_runtime.settings import ServiceSettings

__all__ = ["make_consumer", "make_producer"]


def make_consumer(settings: ServiceSettings, client_id: str | None = None) -> AIOKafkaConsumer:
    """A manually committed, read_committed consumer in the service's group (``client_id``
    replaces the service name as the client id)."""
    options = consumer_options(settings)
    if client_id is not None:
        options["client_id"] = client_id
    return AIOKafkaConsumer(
        **options,
        group_id=settings.consumer_group,
        enable_auto_commit=False,
        auto_offset_reset=settings.auto_offset_reset,
        isolation_level="read_committed",
        # long poll: the broker answers as soon as one record is readable, else after
        # fetch_max_wait_ms, so an idle consumer does not spin and a busy one does not wait
        fetch_min_bytes=1,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        max_poll_records=settings.max_poll_records,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=min(3000, settings.session_timeout_ms // 3),
        max_poll_interval_ms=settings.max_poll_interval_ms,
        rebalance_timeout_ms=settings.rebalance_timeout_ms,
        metadata_max_age_ms=settings.metadata_max_age_ms,
    )


def make_producer(settings: ServiceSettings, transactional_id: str | None) -> AIOKafkaProducer:
    """An idempotent, compressing producer, transactional when ``transactional_id`` is given."""
    return AIOKafkaProducer(
        **producer_options(settings),
        enable_idempotence=True,
        acks="all",
        linger_ms=0,
        max_batch_size=settings.max_batch_bytes,
        transactional_id=transactional_id,
        transaction_timeout_ms=settings.transaction_timeout_ms,
        retry_backoff_ms=settings.producer_retry_backoff_ms,
        metadata_max_age_ms=settings.metadata_max_age_ms,
    )
