"""A handler longer than max_poll_interval_ms keeps the replica in its group (0079)."""

from __future__ import annotations

import asyncio
import json
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
    )
    service.output_events = ("measure_completed",)
    async with service:
        await produce(kafka_bootstrap, source, [("run-a:init-1", as_json(request("run-a", 1)))])
        async with CommittedReader(kafka_bootstrap, sink) as reader:
            await reader.wait_count(1, timeout=4 * HANDLER_S)
            assert service._kafka is not None
            generation = service._kafka.membership.generation
            records = await reader.drain()
    assert len(records) == 1
    assert generation == 1  # never left and rejoined


MESSAGES = 8
EACH_S = 2.5


async def test_a_revocation_ends_a_long_batch_after_the_message_being_handled(
    kafka_bootstrap: str,
) -> None:
    """A replica joining while another handles a 20 s batch waits for one message, not the
    batch; every output is committed exactly once."""
    settings = isolated_settings(kafka_bootstrap, max_poll_interval_ms=POLL_INTERVAL_MS)
    source = f"{settings.topic_prefix}measure.requested.v1"
    sink = f"{settings.topic_prefix}measure.completed.v1"
    handling = asyncio.Event()
    loop = asyncio.get_running_loop()
    calls: list[str] = []

    def slow(incoming: Incoming) -> list[Outgoing]:
        calls.append(incoming.value["initiative_id"])
        loop.call_soon_threadsafe(handling.set)
        time.sleep(EACH_S)
        value = {"initiative_id": incoming.value["initiative_id"], "doubled": 0}
        return [Outgoing("measure_completed", incoming.value["run_id"], value)]

    def service() -> Service:
        service = Service(settings, ["measure_requested"], slow, codec=JsonCodec())
        service.output_events = ("measure_completed",)
        return service

    async with service():
        items: list[tuple[str | None, bytes | None]] = [
            (f"run-a:init-{x}", as_json(request("run-a", x))) for x in range(MESSAGES)
        ]
        await produce(kafka_bootstrap, source, items)
        await asyncio.wait_for(handling.wait(), 60)
        joined_at = time.monotonic()
        async with service() as second:
            await asyncio.wait_for(second.ready.wait(), 60)
            rebalance_s = time.monotonic() - joined_at
            async with CommittedReader(kafka_bootstrap, sink) as reader:
                await reader.wait_count(MESSAGES, timeout=MESSAGES * EACH_S + 60)
                records = await reader.drain()
    initiatives = sorted(json.loads(r.value)["initiative_id"] for r in records)
    assert initiatives == sorted(f"init-{x}" for x in range(MESSAGES))
    assert rebalance_s < MESSAGES * EACH_S / 2, f"the join waited {rebalance_s:.1f} s"
