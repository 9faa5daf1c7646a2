"""A delivery is a broker stall only when it stops moving, not when it is merely long."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from impact_runtime.clients import KafkaClients
from impact_runtime.delivery import Offsets, Progress
from impact_runtime.metrics import ServiceMetrics
from impact_runtime.outage import Outages
from impact_runtime.retry import RetryPolicy
from impact_runtime.settings import ServiceSettings
from impact_runtime.structs import ProducerRecord

STALL_S = 0.1


class TimedDelivery:
    """Takes 1 s; with ``moving`` it sends a record every 50 ms (a large fan-out)."""

    def __init__(self, moving: bool) -> None:
        self.moving = moving
        self.progress = Progress()

    async def deliver(
        self, records: list[ProducerRecord], offsets: Offsets, generation: int
    ) -> None:
        for _ in range(20):
            await asyncio.sleep(0.05)
            if self.moving:
                self.progress.step()

    async def commit_pending(self) -> None:
        """Nothing pending."""


async def _deliver(moving: bool) -> tuple[bool, int]:
    settings = ServiceSettings(
        service_name="stall", bootstrap_servers="127.0.0.1:9", delivery_stall_s=STALL_S
    )
    log: Any = structlog.get_logger("test")
    clients = KafkaClients(settings, "stall-test", log)
    clients.delivery = TimedDelivery(moving)
    metrics = ServiceMetrics("stall")
    noted: list[int] = []
    outages = Outages(RetryPolicy(0, STALL_S, STALL_S), metrics, asyncio.sleep, log)
    outages.note = lambda dependency, error, attempt, delay: noted.append(attempt)  # type: ignore[method-assign]
    await clients.deliver([], {}, generation=1, outages=outages, stopping=asyncio.Event())
    return clients.stalled, len(noted)


async def test_a_long_delivery_that_keeps_sending_is_not_a_stall() -> None:
    assert await _deliver(moving=True) == (False, 0)


async def test_a_delivery_that_stops_moving_is_a_stall() -> None:
    stalled, steps = await _deliver(moving=False)
    assert stalled and steps >= 3
