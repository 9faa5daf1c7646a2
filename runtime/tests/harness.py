"""Harnesses binding a running Service to the shared test cases: FakeBus or real Kafka.

Both expose ``prefix``, ``send``, ``send_raw``, ``take``, ``all`` and ``metric``; records
come back as ``Produced`` (values decoded for event topics, raw bytes on DLQs).
"""

from __future__ import annotations

import json
from typing import Any

from aiokafka import ConsumerRecord
from impact_runtime import FakeBus, JsonCodec, Outgoing, Produced, Service
from impact_runtime.envelope import envelope_headers, fill_envelope

from runtime.tests.kafka_io import CommittedReader, produce, read_all


def topic_of(prefix: str, event: str) -> str:
    """``measure_requested`` → ``<prefix>measure.requested.v1``."""
    return f"{prefix}{event.replace('_', '.')}.v1"


class FakeBusHarness:
    def __init__(self, bus: FakeBus) -> None:
        self.bus = bus
        self.prefix = bus.service.settings.topic_prefix

    async def send(self, event: str, value: dict[str, Any], key: str | None = None) -> None:
        await self.bus.publish(event, value, key)

    async def send_raw(self, topic: str, data: bytes | None, key: str) -> None:
        await self.bus.publish_raw(topic, data, key)

    async def take(self, topic: str, count: int) -> list[Produced]:
        records = await self.all(topic)
        assert len(records) >= count, f"{topic}: {len(records)} records, expected {count}"
        return records

    async def all(self, topic: str) -> list[Produced]:
        return [p for p in self.bus.produced if p.topic == topic]

    def metric(self, name: str, labels: dict[str, str]) -> float | None:
        return self.bus.service.metrics.registry.get_sample_value(name, labels)


def produced(record: ConsumerRecord) -> Produced:
    headers = {k: v.decode() for k, v in record.headers}
    key = record.key.decode() if record.key is not None else None
    if record.topic.endswith(".dlq"):
        return Produced(record.topic, key, record.value, headers)
    return Produced(record.topic, key, json.loads(record.value), headers)


class KafkaHarness:
    def __init__(self, bootstrap: str, service: Service) -> None:
        self.bootstrap = bootstrap
        self.service = service
        self.prefix = service.settings.topic_prefix

    async def send(self, event: str, value: dict[str, Any], key: str | None = None) -> None:
        outgoing = Outgoing(event, key or str(value["run_id"]), value)
        filled = fill_envelope(outgoing, None, "1.0")
        topic = topic_of(self.prefix, event)
        data = await JsonCodec().encode(event, filled, topic)
        await produce(self.bootstrap, topic, [(outgoing.key, data)], envelope_headers(filled))

    async def send_raw(self, topic: str, data: bytes | None, key: str) -> None:
        await produce(self.bootstrap, topic, [(key, data)])

    async def take(self, topic: str, count: int) -> list[Produced]:
        async with CommittedReader(self.bootstrap, topic) as reader:
            return [produced(r) for r in await reader.wait_count(count, timeout=60)]

    async def all(self, topic: str) -> list[Produced]:
        return [produced(r) for r in await read_all(self.bootstrap, topic)]

    def metric(self, name: str, labels: dict[str, str]) -> float | None:
        return self.service.metrics.registry.get_sample_value(name, labels)
