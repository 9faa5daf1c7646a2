"""aiokafka client construction and topic creation from ServiceSettings.

Connection, compression and size options come from ``impact_runtime.kafka_config``;
:func:`read_to_end` reads every record of some topics or partitions up to the end offsets
taken when the read starts, with a deadline (the orchestrator's restore, the registry
tests, the CLI and the dashboard).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    KafkaError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
    for_code,
)
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from impact_runtime.kafka_config import (
    IsolationLevel,
    KafkaClientConfig,
    client_options,
    consumer_options,
    producer_options,
    topic_configs,
)
from impact_runtime.replication import topic_replication
from impact_runtime.settings import ServiceSettings

__all__ = [
    "client_options",
    "ensure_topics",
    "make_consumer",
    "make_producer",
    "partition_counts",
    "partitions_if_exists",
    "read_to_end",
    "topic_partitions",
]


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


async def ensure_topics(
    settings: ServiceSettings,
    topics: set[str],
    *,
    configs: dict[str, str] | None = None,
    ready_timeout_s: float = 30.0,
) -> set[str]:
    """Create the missing ``topics`` (with the size and replication configs plus
    ``configs``) and wait until every partition of every one of them has a leader, also of
    those another process is creating at the same moment; return the ones created.
    Existing topics are kept. Replication follows ``IMPACT_TOPIC_REPLICATION_FACTOR`` and
    ``IMPACT_TOPIC_MIN_INSYNC_REPLICAS`` (``auto``: RF 3 / min ISR 2 on 3+ brokers).

    Raises:
        ConfigError: when the replication settings do not fit the cluster.
        KafkaError: when the broker refuses to create a topic.
        TimeoutError: when leaders are not elected within ``ready_timeout_s``.
    """
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = sorted(topics - existing)
        if missing:
            await _create(admin, settings, missing, configs)
        # a topic listed (or refused as existing) may still be without partitions in the
        # metadata: another replica created it a moment ago
        await _wait_for_leaders(admin, sorted(topics), ready_timeout_s)
        return set(missing)
    finally:
        await admin.close()


async def _create(
    admin: AIOKafkaAdminClient,
    settings: ServiceSettings,
    missing: list[str],
    configs: dict[str, str] | None,
) -> None:
    replicas, replication_configs = await topic_replication(
        admin, settings.topic_replication_factor, settings.topic_min_insync_replicas
    )
    new = [
        NewTopic(
            name,
            settings.topic_partitions,
            replicas,
            topic_configs={**topic_configs(settings), **replication_configs, **(configs or {})},
        )
        for name in missing
    ]
    response = await admin.create_topics(new)
    for name, code, *_ in response.topic_errors:
        if code and for_code(code) is not TopicAlreadyExistsError:
            raise for_code(code)(f"cannot create topic {name}")


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, topics: list[str], timeout_s: float
) -> None:
    """Producing to a topic before its partitions have leaders fails the transaction."""
    deadline = time.monotonic() + timeout_s
    while True:
        described = await admin.describe_topics(topics)
        ready = [
            t["topic"]
            for t in described
            if t["error_code"] == 0
            and t["partitions"]
            and all(p["leader"] >= 0 for p in t["partitions"])
        ]
        if len(ready) == len(topics):
            return
        if time.monotonic() > deadline:
            waiting = sorted(set(topics) - set(ready))
            raise TimeoutError(f"no partition leaders after {timeout_s:.0f} s for {waiting}")
        await asyncio.sleep(0.1)


async def read_to_end(
    config: KafkaClientConfig,
    source: Iterable[str | TopicPartition],
    *,
    timeout_s: float,
    isolation_level: IsolationLevel = "read_committed",
) -> AsyncGenerator[ConsumerRecord[bytes, bytes], None]:
    """Yield every record of ``source`` (topic names: all their partitions; topics that do
    not exist are skipped) from the beginning up to the end offsets taken when the read
    starts: two reads of unchanged topics yield the same records, whatever the load.

    Steps: 1. resolve partitions; 2. assign and seek to the beginning; 3. take the end
    offsets (the last stable offset under ``read_committed``); 4. fetch until every
    partition's position reaches its end, yielding only records below it.

    Raises:
        TimeoutError: when the end is not reached within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    consumer = AIOKafkaConsumer(
        **consumer_options(config),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=isolation_level,
    )
    await consumer.start()
    try:
        partitions = await _partitions(config, source)
        if not partitions:
            return
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await _end_offsets(consumer, partitions, deadline)
        pending = [tp for tp in partitions if await consumer.position(tp) < end[tp]]
        while pending:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                behind = {str(tp): end[tp] - await consumer.position(tp) for tp in pending}
                raise TimeoutError(
                    f"reading to the end timed out after {timeout_s:.0f} s; "
                    f"records left per partition: {behind}"
                )
            batch = await consumer.getmany(*pending, timeout_ms=min(remaining_ms, 500))
            for tp, records in batch.items():
                for record in records:
                    if record.offset < end[tp]:
                        yield record
            pending = [tp for tp in pending if await consumer.position(tp) < end[tp]]
    finally:
        await consumer.stop()


async def _partitions(
    config: KafkaClientConfig, source: Iterable[str | TopicPartition]
) -> list[TopicPartition]:
    """Explicit partitions as given; topic names expanded from the cluster's metadata."""
    items = list(source)
    partitions = {item for item in items if isinstance(item, TopicPartition)}
    names = {item for item in items if isinstance(item, str)}
    if names:
        admin = AIOKafkaAdminClient(**client_options(config))
        await admin.start()
        try:
            described = await admin.describe_topics()  # all topics: never auto-creates one
        finally:
            await admin.close()
        for topic in described:
            if topic["topic"] in names and topic["error_code"] == 0:
                partitions |= {
                    TopicPartition(topic["topic"], p["partition"]) for p in topic["partitions"]
                }
    return sorted(partitions)


async def _end_offsets(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], deadline: float
) -> dict[TopicPartition, int]:
    """End offsets, retried every 0.2 s while a new topic has no leader yet."""
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(KafkaError),
        wait=wait_fixed(0.2),
        stop=stop_after_delay(max(0.0, deadline - time.monotonic())),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                offsets = await consumer.end_offsets(partitions)
    except KafkaError as exc:
        raise TimeoutError(f"no end offsets for {partitions}: {exc!r}") from exc
    return {tp: int(offsets[tp]) for tp in partitions}


async def topic_partitions(config: KafkaClientConfig, topics: list[str]) -> dict[str, int]:
    """Partitions per topic of ``topics`` (see :func:`partition_counts`)."""
    admin = AIOKafkaAdminClient(**client_options(config))
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return partition_counts(described)


async def partitions_if_exists(config: KafkaClientConfig, topic: str) -> int | None:
    """Partitions of ``topic``; None when the cluster does not list it."""
    admin = AIOKafkaAdminClient(**client_options(config))
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return None
    finally:
        await admin.close()
    return (await topic_partitions(config, [topic]))[topic]


def partition_counts(described: list[dict[str, Any]]) -> dict[str, int]:
    """Partitions per topic of a DescribeTopics answer.

    Raises:
        UnknownTopicOrPartitionError: a topic has no metadata yet on the broker asked (on a
            cluster, a topic just created may be known to one broker and not yet another);
            retriable, so the start waits it out instead of seeing 0 partitions.
    """
    unknown = sorted(t["topic"] for t in described if t["error_code"] or not t["partitions"])
    if unknown:
        raise UnknownTopicOrPartitionError(f"no partition metadata yet for {unknown}")
    return {t["topic"]: len(t["partitions"]) for t in described}
