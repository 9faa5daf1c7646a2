"""Watching a delivery in flight: a stall (no progress) marks Kafka down; a stop request
cancels a delivery that has run long enough."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from impact_runtime.delivery.guarantees import Progress
from impact_runtime.outage import KAFKA, Outages

#: A delivery cancelled for a stop that has not ended after this is cancelled again.
STOP_GRACE_S = 0.5


class DeliveryWatch:
    """Watches a delivery that runs in the current task, by timer (nothing on the loop
    while it is short).

    Every ``stall_s`` without progress (no record sent or acknowledged) is a stall step:
    Kafka is noted down, and the next check waits the outage policy's delay. Once the
    delivery has run ``stall_s``, a stop request cancels it; cancelled again every
    ``STOP_GRACE_S`` (an aborting transaction waits for the broker), until it ends.
    """

    def __init__(
        self, progress: Progress, stall_s: float, outages: Outages, stopping: asyncio.Event
    ) -> None:
        """Watch the current task's delivery from now on."""
        self.progress = progress
        self.timeout = stall_s
        self.outages = outages
        self.steps = 0
        self.stopped = False
        self._stopping = stopping
        self._cancels = 0
        self._started = time.monotonic()
        self._moved = progress.count
        self._task: asyncio.Task[Any] | None = asyncio.current_task()
        self._stop_waiter: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(self.timeout, self._check)

    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    def _check(self) -> None:
        loop = asyncio.get_running_loop()
        if self._stop_waiter is None:
            self._stop_waiter = loop.create_task(self._cancel_on_stop())
        if self.progress.count != self._moved:  # still sending: slow, not stalled
            self._moved = self.progress.count
        else:
            self.steps += 1
            self.timeout = self.outages.policy.delay(self.steps - 1)
            pending = f"delivery pending for {self.elapsed_s():.1f} s"
            self.outages.note(KAFKA, pending, self.steps, self.timeout)
        self._timer = loop.call_later(self.timeout, self._check)

    async def _cancel_on_stop(self) -> None:
        await self._stopping.wait()
        self.stopped = True
        while self._task is not None:
            self._task.cancel()
            self._cancels += 1
            await asyncio.sleep(STOP_GRACE_S)

    def uncancel(self) -> None:
        """Take back this watch's cancellations of the task (it raises ``Stopping``)."""
        if self._task is not None:
            for _ in range(self._cancels):
                self._task.uncancel()

    def close(self) -> None:
        """The delivery ended: stop watching."""
        self._timer.cancel()
        if self._stop_waiter is not None:
            self._stop_waiter.cancel()
        self._task = None
