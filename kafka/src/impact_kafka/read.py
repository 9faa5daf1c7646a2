"""Reading every record of some topics or partitions up to the end offsets taken when the
read starts, with a deadline (the orchestrator's restore, the registry tests, the CLI and
the dashboard)."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from impact_kafka.config import (
    IsolationLevel,
    KafkaClientConfig,
    client_options,
    consumer_options,
)

__all__ = ["read_to_end"]


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
