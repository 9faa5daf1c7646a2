"""The shared runtime cases (cases.py) on a real broker, with an in-process Service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from impact_runtime import Handler, JsonCodec, Service

from runtime.tests.cases import RuntimeCases
from runtime.tests.harness import KafkaHarness
from runtime.tests.kafka_io import isolated_settings

pytestmark = pytest.mark.integration


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
