"""The shared runtime cases (cases.py) on the in-memory FakeBus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from impact_runtime import FakeBus, Handler, Produced, Service, ServiceSettings

from runtime.tests.cases import RuntimeCases


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


class TestOnFakeBus(RuntimeCases):
    @asynccontextmanager
    async def harness(self, handle: Handler, **service: Any) -> AsyncIterator[FakeBusHarness]:
        settings = ServiceSettings(
            service_name="unit", bootstrap_servers="127.0.0.1:1", max_retries=3
        )
        yield FakeBusHarness(FakeBus(Service(settings, ["measure_requested"], handle, **service)))
