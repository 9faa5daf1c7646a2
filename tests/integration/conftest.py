"""Fixtures shared by the integration tests whose module defines a ``stack`` of services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from impact_cli.processes import ServiceProcesses
from impact_observe.bus import Bus

from tests.integration.stack import settled
from tests.support.kafka import wait_for


@pytest.fixture
async def bus(
    stack: ServiceProcesses, kafka_bootstrap: str, schema_registry_url: str
) -> AsyncIterator[Bus]:
    """A client of the module's ``stack``, once every replica owns its partitions."""
    await wait_for(
        lambda: settled(stack), timeout=300, message="replicas did not get their partitions"
    )
    client = Bus(kafka_bootstrap, schema_registry_url, stack.prefix)
    yield client
    await client.close()
