"""A handler longer than max_poll_interval_ms keeps the replica in its group (0079)."""

from __future__ import annotations

import time

import pytest
from impact_runtime import Incoming, JsonCodec, Outgoing, Service

from runtime.tests.kafka_io import CommittedReader, as_json, isolated_settings, produce, request

pytestmark = pytest.mark.integration

POLL_INTERVAL_MS = 4000
HANDLER_S = 9.0


def slow_double(incoming: Incoming) -> list[Outgoing]:
    time.sleep(HANDLER_S)
    value = {"initiative_id": incoming.value["initiative_id"], "doubled": 2 * incoming.value["x"]}
    return [Outgoing("measure_completed", incoming.value["run_id"], value)]


async def test_one_message_longer_than_the_poll_interval_is_delivered_once(
    kafka_bootstrap: str,
) -> None:
    settings = isolated_settings(kafka_bootstrap, max_poll_interval_ms=POLL_INTERVAL_MS)
    source = f"{settings.topic_prefix}measure.requested.v1"
    sink = f"{settings.topic_prefix}measure.completed.v1"
    service = Service(
        settings,
        ["measure_requested"],
        slow_double,
        codec=JsonCodec(),
        outputs=["measure_completed"],
    )
    async with service:
        await produce(kafka_bootstrap, source, [("run-a:init-1", as_json(request("run-a", 1)))])
        async with CommittedReader(kafka_bootstrap, sink) as reader:
            records = await reader.wait_count(1, timeout=4 * HANDLER_S)
            assert service._kafka is not None
            generation = service._kafka.membership.generation
            records = await reader.drain()
    assert len(records) == 1
    assert generation == 1  # never left and rejoined
