"""The CLI's Kafka side: publish a manifest, follow a run, read a run's events."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from impact_schemas.catalog import event_for_topic, topic_for
from impact_schemas.codec import AvroCodec
from impact_schemas.events import new_envelope
from impact_schemas.registry.client import RegistryClient

#: Every event of a run, in pipeline order, for ``status --lineage``.
RUN_EVENTS = (
    "manifest_submitted",
    "measure_requested",
    "measure_completed",
    "evaluate_requested",
    "evaluate_completed",
    "allocate_requested",
    "allocate_completed",
    "stage_failed",
    "run_status",
    "run_completed",
)


class Bus:
    """Connection details plus a codec; one per CLI command."""

    def __init__(self, bootstrap: str, registry_url: str, prefix: str = "impact.") -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.registry = RegistryClient(registry_url)
        self.codec = AvroCodec(self.registry)

    async def publish_manifest(self, payload: dict[str, Any], run_id: str | None = None) -> str:
        """Publish one ``manifest_submitted`` event keyed by its run id; return the run id."""
        run_id = run_id or str(uuid.uuid4())
        value = {**new_envelope(run_id), **payload}
        topic = topic_for("manifest_submitted", self.prefix)
        data = await self.codec.encode("manifest_submitted", value, topic)
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, enable_idempotence=True)
        await producer.start()
        try:
            headers = [("run_id", run_id.encode()), ("event_id", value["event_id"].encode())]
            await producer.send_and_wait(topic, data, key=run_id.encode(), headers=headers)
        finally:
            await producer.stop()
        return run_id

    async def follow(
        self, run_id: str, events: Iterable[str], *, timeout_s: float | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Yield ``(event name, value)`` of one run from the start of each topic, live.

        Stops after ``timeout_s`` without raising; the caller decides what that means.
        """
        topics = [topic_for(name, self.prefix) for name in events]
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            isolation_level="read_committed",
            fetch_max_wait_ms=50,
        )
        await consumer.start()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        key = run_id.encode()
        try:
            while deadline is None or time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=200)
                for partition, records in batches.items():
                    for record in records:
                        if record.key is None or record.key.split(b":")[0] != key:
                            continue
                        if record.value is None:
                            continue
                        value = await self.codec.decode(record.value, partition.topic)
                        yield event_for_topic(partition.topic).name, value
        finally:
            await consumer.stop()

    async def read_run(
        self,
        run_id: str,
        events: Iterable[str] = RUN_EVENTS,
        idle_s: float = 1.5,
        first_s: float = 15.0,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Every event of one run now in the topics: waits up to ``first_s`` for the first,
        then stops after ``idle_s`` of quiet."""
        found: list[tuple[str, dict[str, Any]]] = []
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

        async def pump() -> None:
            async for item in self.follow(run_id, events):
                await queue.put(item)

        task = asyncio.create_task(pump())
        try:
            while True:
                try:
                    wait_s = idle_s if found else first_s
                    found.append(await asyncio.wait_for(queue.get(), timeout=wait_s))
                except TimeoutError:
                    return found
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        await self.registry.aclose()
