"""A handler slower than its limit fails its command; a long batch keeps polling (0079)."""

from __future__ import annotations

import asyncio
import threading

from aiokafka import TopicPartition
from impact_runtime import FakeBus, Incoming, Outgoing, Service, ServiceSettings
from impact_runtime.keepalive import KeepPolling, poll_every_s

REQUEST = {"run_id": "run-1", "initiative_id": "init-7", "phase": "pilot", "x": 3}


async def test_a_handler_over_its_time_limit_ends_its_command_with_stage_failed(
    settings: ServiceSettings,
) -> None:
    released = threading.Event()

    def slow(incoming: Incoming) -> list[Outgoing]:
        released.wait(10)
        return [Outgoing("measure_completed", "run-1", {"initiative_id": "init-7"})]

    limited = settings.model_copy(update={"handler_timeout_s": 0.2})
    bus = FakeBus(Service(limited, ["measure_requested"], slow, failure_stage="measure"))
    try:
        [failed] = await bus.publish("measure_requested", dict(REQUEST), key="run-1:init-7")
    finally:
        released.set()
    assert failed.event == "stage_failed"
    assert failed.value["error_type"] == "HandlerTimedOut"
    assert failed.value["initiative_id"] == "init-7"
    assert "longer than 0.2 s (IMPACT_HANDLER_TIMEOUT_S)" in failed.value["reason"]
    assert bus.dlq == []


async def test_a_handlers_own_timeout_error_is_not_the_limit(settings: ServiceSettings) -> None:
    def times_out(incoming: Incoming) -> list[Outgoing]:
        raise TimeoutError("the component's own")

    bus = FakeBus(Service(settings, ["measure_requested"], times_out, failure_stage="measure"))
    [failed] = await bus.publish("measure_requested", dict(REQUEST), key="run-1:init-7")
    assert failed.value["error_type"] == "TimeoutError"


def test_the_rebalance_timeout_covers_one_handler_and_one_delivery(
    settings: ServiceSettings,
) -> None:
    assert settings.rebalance_timeout_ms == 1_800_000 + 60_000
    short = settings.model_copy(update={"handler_timeout_s": 1.0, "max_poll_interval_ms": 300_000})
    assert short.rebalance_timeout_ms == 300_000


def test_a_long_batch_polls_well_inside_the_poll_interval() -> None:
    assert poll_every_s(8000) == 1.6
    assert poll_every_s(300_000) == 5.0


class PausingConsumer:
    """What ``KeepPolling`` uses of aiokafka's consumer, recording the calls."""

    def __init__(self, assigned: set[TopicPartition]) -> None:
        self.assigned = assigned
        self.paused: set[TopicPartition] = set()
        self.polls = 0

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def pause(self, *tps: TopicPartition) -> None:
        self.paused |= set(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused -= set(tps)

    async def getmany(
        self, *tps: TopicPartition, timeout_ms: int = 0
    ) -> dict[object, list[object]]:
        assert set(tps) <= self.paused
        self.polls += 1
        return {}


async def test_a_long_batch_polls_its_paused_partitions_and_resumes_them() -> None:
    tps = {TopicPartition("t", 0), TopicPartition("t", 1)}
    consumer = PausingConsumer(tps)
    async with KeepPolling(consumer, 0.05):
        await asyncio.sleep(0.3)
        assert consumer.paused == tps
    assert consumer.polls >= 3
    assert consumer.paused == set()


async def test_a_short_batch_neither_pauses_nor_polls() -> None:
    consumer = PausingConsumer({TopicPartition("t", 0)})
    async with KeepPolling(consumer, 1.0):
        await asyncio.sleep(0)
    assert (consumer.polls, consumer.paused) == (0, set())
