"""Helpers for runtime integration tests: settings, producing inputs, reading outputs."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from impact_runtime import ServiceSettings

from tests.support.kafka import wait_for


def isolated_settings(bootstrap: str, **overrides: Any) -> ServiceSettings:
    """Settings with a fresh topic prefix and group, so tests never share topics."""
    tag = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "service_name": "echo",
        "bootstrap_servers": bootstrap,
        "topic_prefix": f"rt{tag}.",
        "group_id": f"rt-{tag}",
        "topic_partitions": 2,
        "log_format": "console",
        "log_level": "WARNING",
        "retry_backoff_s": 0.05,
    }
    values.update(overrides)
    return ServiceSettings(**values)


def request(run_id: str, x: int) -> dict[str, Any]:
    """A JSON measure_requested value with a full envelope."""
    return {
        "schema_version": "1.0",
        "run_id": run_id,
        "event_id": str(uuid.uuid4()),
        "causation_id": None,
        "produced_at": 0,
        "initiative_id": f"init-{x}",
        "phase": "pilot",
        "x": x,
    }


async def produce(
    bootstrap: str,
    topic: str,
    items: list[tuple[str | None, bytes | None]],
    headers: tuple[tuple[str, bytes], ...] = (),
    max_request_size: int = 1048576,
) -> None:
    """Send (key, value) pairs in order to partition 0 and wait for the acks."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=max_request_size)
    await producer.start()
    try:
        for key, value in items:
            await producer.send_and_wait(
                topic,
                value,
                key=key.encode() if key is not None else None,
                partition=0,
                headers=list(headers),
            )
    finally:
        await producer.stop()


def as_json(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


class CommittedReader:
    """Reads a topic from the start with ``read_committed``, accumulating records."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            group_id=None,
        )
        self.records: list[Any] = []

    async def __aenter__(self) -> CommittedReader:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def _poll(self) -> int:
        batch = await self.consumer.getmany(timeout_ms=100)
        for messages in batch.values():
            self.records.extend(messages)
        return len(self.records)

    async def wait_count(self, count: int, timeout: float = 30) -> list[Any]:
        """Wait until at least ``count`` records arrived; return all of them."""
        await wait_for(
            lambda: self._poll_at_least(count), timeout, message=f"fewer than {count} records"
        )
        return self.records

    async def _poll_at_least(self, count: int) -> bool:
        return await self._poll() >= count

    async def drain(self, quiet_polls: int = 5) -> list[Any]:
        """Keep polling until ``quiet_polls`` polls in a row bring nothing new."""
        quiet = 0
        while quiet < quiet_polls:
            before = len(self.records)
            quiet = quiet + 1 if await self._poll() == before else 0
        return self.records


async def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int) -> list[int]:
    """The group's committed offset per partition (-1 when none)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        result = []
        for partition in range(partitions):
            offset = await consumer.committed(TopicPartition(topic, partition))
            result.append(-1 if offset is None else offset)
        return result
    finally:
        await consumer.stop()


async def read_all(bootstrap: str, topic: str) -> list[Any]:
    """Every committed record of ``topic`` up to its end offsets now ([] if it does not exist)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        partitions = cluster.partitions_for_topic(topic)
        if not partitions:
            return []
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        records: list[Any] = []
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            batch = await consumer.getmany(*tps, timeout_ms=200)
            for messages in batch.values():
                records.extend(
                    m for m in messages if m.offset < end[TopicPartition(topic, m.partition)]
                )
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


async def http_get(port: int, path: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _, body = response.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body
