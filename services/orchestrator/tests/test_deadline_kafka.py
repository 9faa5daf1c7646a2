"""Deadline expiry through the orchestrator service on a real broker (deadline_cases.py):
the service's own ticks fire the deadline, exactly as in embedded mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from impact_orchestrator.service import build_service
from impact_runtime import JsonCodec

from runtime.tests.harness import KafkaHarness
from services.orchestrator.tests.deadline_cases import DeadlineCases
from services.orchestrator.tests.kafka_settings import settings_for

pytestmark = pytest.mark.integration


class TestDeadlineOnKafka(DeadlineCases):
    deadline_s = 8.0  # long enough to answer every pilot on a loaded 2-core machine

    @pytest.fixture(autouse=True)
    def _bootstrap(self, kafka_bootstrap: str) -> None:
        self.bootstrap = kafka_bootstrap

    @asynccontextmanager
    async def orchestrator(self) -> AsyncIterator[KafkaHarness]:
        settings = settings_for(self.bootstrap, "dl")
        service = build_service(settings)
        service.codec = JsonCodec()
        async with service:
            yield KafkaHarness(self.bootstrap, service)

    async def expire(self, h: KafkaHarness) -> None:
        """Nothing to do: the service ticks every 0.2 s and the deadline passes."""
