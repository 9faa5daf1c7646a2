"""The shared runtime cases (cases.py) on a real broker, with an in-process Service."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from impact_runtime import Handler, JsonCodec, Outgoing, Produced, Service
from impact_runtime.envelope import envelope_headers, fill_envelope

from runtime.tests.cases import RuntimeCases
from runtime.tests.kafka_io import CommittedReader, isolated_settings, produce, read_all

pytestmark = pytest.mark.integration


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
        topic = f"{self.prefix}{event.replace('_', '.')}.v1"
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


class TestOnKafka(RuntimeCases):
    @pytest.fixture(autouse=True)
    def _bootstrap(self, kafka_bootstrap: str) -> None:
        self.bootstrap = kafka_bootstrap

    @asynccontextmanager
    async def harness(self, handle: Handler, **service: Any) -> AsyncIterator[KafkaHarness]:
        settings = isolated_settings(self.bootstrap, max_retries=3, retry_backoff_s=0.01)
        service.setdefault("codec", JsonCodec())
        async with Service(settings, ["measure_requested"], handle, **service) as running:
            yield KafkaHarness(self.bootstrap, running)
