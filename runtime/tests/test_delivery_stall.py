"""A delivery is a broker stall only when it stops moving, not when it is merely long."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from impact_runtime.delivery import KafkaClients, Offsets, Progress
from impact_runtime.delivery.watch import STOP_GRACE_S
from impact_runtime.metrics import ServiceMetrics
from impact_runtime.outage import Outages, Stopping
from impact_runtime.retry import RetryPolicy
from impact_runtime.settings import ServiceSettings
from impact_runtime.structs import ProducerRecord

STALL_S = 0.1


class TimedDelivery:
    """Takes ``steps`` times 50 ms; with ``moving`` it sends a record every 50 ms (a large
    fan-out). With ``stubborn``, a cancellation makes it wait once more (as an aborting
    transaction waits for the broker)."""

    def __init__(self, moving: bool, steps: int = 20, stubborn: bool = False) -> None:
        self.moving = moving
        self.steps = steps
        self.stubborn = stubborn
        self.progress = Progress()
        self.task: asyncio.Task[Any] | None = None
        self.done = False

    async def deliver(
        self, records: list[ProducerRecord], offsets: Offsets, generation: int
    ) -> None:
        self.task = asyncio.current_task()
        try:
            for _ in range(self.steps):
                await asyncio.sleep(0.05)
                if self.moving:
                    self.progress.step()
        except asyncio.CancelledError:
            if self.stubborn:
                await asyncio.sleep(60)
            raise
        self.done = True

    async def commit_pending(self) -> None:
        """Nothing pending."""


def _clients(
    delivery: TimedDelivery, stopping: asyncio.Event | None = None
) -> tuple[KafkaClients, Outages, list[int]]:
    settings = ServiceSettings(
        service_name="stall", bootstrap_servers="127.0.0.1:9", delivery_stall_s=STALL_S
    )
    log: Any = structlog.get_logger("test")
    metrics = ServiceMetrics("stall")
    noted: list[int] = []
    outages = Outages(RetryPolicy(0, STALL_S, STALL_S), metrics, asyncio.sleep, log)
    outages.note = lambda dependency, error, attempt, delay: noted.append(attempt)  # type: ignore[method-assign]
    clients = KafkaClients(settings, "stall-test", log, outages, stopping or asyncio.Event())
    clients.delivery = delivery
    return clients, outages, noted


async def _deliver(moving: bool) -> tuple[bool, int]:
    clients, _, noted = _clients(TimedDelivery(moving))
    await clients.deliver([], {}, generation=1)
    return clients.fencing.stalled, len(noted)


async def _stop_during(delivery: TimedDelivery, stop_after_s: float) -> tuple[bool, float]:
    """Deliver, asking to stop after ``stop_after_s``: (raised Stopping, seconds taken)."""
    stopping = asyncio.Event()
    clients, _, _ = _clients(delivery, stopping)
    asyncio.get_running_loop().call_later(stop_after_s, stopping.set)
    started = time.monotonic()
    try:
        await clients.deliver([], {}, generation=1)
    except Stopping:
        return True, time.monotonic() - started
    return False, time.monotonic() - started


async def test_a_long_delivery_that_keeps_sending_is_not_a_stall() -> None:
    assert await _deliver(moving=True) == (False, 0)


async def test_a_delivery_that_stops_moving_is_a_stall() -> None:
    stalled, steps = await _deliver(moving=False)
    assert stalled and steps >= 3


async def test_a_delivery_runs_in_the_calling_task() -> None:
    """No hop through the loop before the first record is handed to the producer."""
    delivery = TimedDelivery(moving=True, steps=1)
    clients, _, _ = _clients(delivery)
    await clients.deliver([], {}, generation=1)
    assert delivery.task is asyncio.current_task()


async def test_a_stop_ends_a_stalled_delivery() -> None:
    delivery = TimedDelivery(moving=False, steps=200)  # 10 s
    stopped, took_s = await _stop_during(delivery, stop_after_s=0.3)
    assert stopped and took_s < 1.0 and not delivery.done
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_stop_ends_a_delivery_whose_abort_waits_for_the_broker() -> None:
    delivery = TimedDelivery(moving=False, steps=200, stubborn=True)
    stopped, took_s = await _stop_during(delivery, stop_after_s=0.3)
    assert stopped and 0.3 + STOP_GRACE_S <= took_s < 0.3 + 3 * STOP_GRACE_S


async def test_a_delivery_shorter_than_the_stall_time_finishes_before_a_stop() -> None:
    delivery = TimedDelivery(moving=False, steps=1)  # 50 ms, under STALL_S
    stopped, _ = await _stop_during(delivery, stop_after_s=0.0)
    assert not stopped and delivery.done
