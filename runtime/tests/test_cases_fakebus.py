"""The shared runtime cases (cases.py) on the in-memory FakeBus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from impact_runtime import FakeBus, Handler, Service, ServiceSettings

from runtime.tests.cases import RuntimeCases
from runtime.tests.harness import FakeBusHarness


class TestOnFakeBus(RuntimeCases):
    @asynccontextmanager
    async def harness(self, handle: Handler, **service: Any) -> AsyncIterator[FakeBusHarness]:
        settings = ServiceSettings(
            service_name="unit", bootstrap_servers="127.0.0.1:1", max_retries=3
        )
        yield FakeBusHarness(FakeBus(Service(settings, ["measure_requested"], handle, **service)))
