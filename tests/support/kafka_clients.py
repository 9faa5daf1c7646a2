"""Kafka client helpers for tests: a read-committed consumer, a topic's metadata and
configs, and the check that groups and transactions work on a broker."""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import suppress
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.support.waiting import wait_for


def committed_consumer(
    bootstrap: str, *topics: str, group_id: str | None = None, **options: Any
) -> AIOKafkaConsumer:
    """A consumer (not started) that reads from the earliest offset and sees committed
    records only; ``options`` go to ``AIOKafkaConsumer``."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        **options,
    )


async def describe_topic(bootstrap: str, topic: str) -> dict[str, Any] | None:
    """The topic's metadata (``partitions`` with ``leader``, ``replicas``, ``isr``), or
    None when it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if not described or described[0]["error_code"] != 0:
        return None
    return dict(described[0])


async def topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    """A topic's effective configs, e.g. ``min.insync.replicas`` (any broker or cluster)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    entries = responses[0].resources[0][4]
    return {str(entry[0]): str(entry[1]) for entry in entries if entry[1] is not None}


async def group_and_transactions_work(bootstrap: str, deadline: float) -> None:
    """Create a throw-away topic, run one transaction into it and join a consumer group."""
    topic = f"readiness-{uuid.uuid4().hex}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, transactional_id=f"readiness-{uuid.uuid4().hex}"
        )
        await producer.start()
        try:
            async with producer.transaction():
                await producer.send_and_wait(topic, b"ready")
        finally:
            await producer.stop()
        consumer = committed_consumer(bootstrap, topic, group_id=f"readiness-{uuid.uuid4().hex}")
        await consumer.start()
        try:
            remaining = max(deadline - time.monotonic(), 1.0)
            message = await asyncio.wait_for(consumer.getone(), timeout=remaining)
            assert message.value == b"ready"
        finally:
            await consumer.stop()
        with suppress(Exception):
            await admin.delete_topics([topic])
    finally:
        await admin.close()


async def consume_exactly(
    consumer: AIOKafkaConsumer, count: int, timeout: float = 30.0
) -> list[bytes]:
    """Read until ``count`` values arrived (raises TimeoutError otherwise)."""
    values: list[bytes] = []

    async def fetched_enough() -> bool:
        batches = await consumer.getmany(timeout_ms=100)
        for records in batches.values():
            values.extend(record.value for record in records if record.value is not None)
        return len(values) >= count

    await wait_for(fetched_enough, timeout, interval=0, message=f"only {len(values)}/{count}")
    return values
