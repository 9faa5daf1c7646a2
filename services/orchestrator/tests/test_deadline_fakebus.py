"""Deadline expiry through the orchestrator service on FakeBus (deadline_cases.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from impact_orchestrator.service import Orchestrator, Settings, build_service
from impact_runtime import FakeBus, JsonCodec

from runtime.tests.harness import FakeBusHarness
from services.orchestrator.tests.deadline_cases import DeadlineCases


class TestDeadlineOnFakeBus(DeadlineCases):
    deadline_s = 1.0

    @asynccontextmanager
    async def orchestrator(self) -> AsyncIterator[FakeBusHarness]:
        settings = Settings(bootstrap_servers="127.0.0.1:9")
        orchestrator = Orchestrator(settings)
        bus = FakeBus(build_service(settings, orchestrator), JsonCodec())
        await bus.assign()
        await orchestrator.restored.wait()
        yield FakeBusHarness(bus)

    async def expire(self, h: FakeBusHarness) -> None:
        assert await h.bus.tick(time.time()) == []  # not yet
        await h.bus.tick(time.time() + self.deadline_s)
