"""Keeps a consumer in its group while a long batch is handled (decision 0079).

aiokafka sends heartbeats from a task of its own, but it leaves the group once
``max_poll_interval_ms`` passes without a ``getmany``/``getone`` call: its heartbeat routine
reads ``fetcher_idle_time``, the time since the last fetch call ended. A batch of slow
handlers makes no such call on its own: without this, its replica would leave the group,
its commit would be refused and the batch replayed, for ever.

``KeepPolling`` polls while a batch is handled, without taking records: once the batch has
run ``after_s``, every assigned partition is paused and ``getmany`` is called every
``every_s`` (paused partitions return nothing, and their prefetched records are dropped
without moving the position); when the batch ends the partitions resume. A short batch
costs one timer.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError


def poll_every_s(max_poll_interval_ms: int) -> float:
    """How often a long batch polls: well inside the interval, at most every 5 s."""
    return min(5.0, max_poll_interval_ms / 1000 / 5)


class KeepPolling:
    """``async with KeepPolling(consumer, every_s):`` around the handling of one batch."""

    def __init__(self, consumer: AIOKafkaConsumer, every_s: float) -> None:
        self._consumer = consumer
        self.every_s = every_s
        self.polls = 0
        self._paused: set[TopicPartition] = set()
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> KeepPolling:
        self._timer = asyncio.get_running_loop().call_later(self.every_s, self._start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._paused:
            assigned = self._consumer.assignment()
            self._consumer.resume(*(tp for tp in self._paused if tp in assigned))
            self._paused = set()

    def _start(self) -> None:
        self._paused = set(self._consumer.assignment())
        self._consumer.pause(*self._paused)
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            paused = [tp for tp in self._paused if tp in self._consumer.assignment()]
            if paused:
                with contextlib.suppress(KafkaError):  # the loop's own fetch reports it
                    taken = await self._consumer.getmany(*paused[:1], timeout_ms=0)
                    self._give_back(taken)
                self.polls += 1
            await asyncio.sleep(self.every_s)

    def _give_back(self, taken: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """A paused partition returns nothing; should one ever return records, seek back
        so that none is skipped."""
        for tp, records in taken.items():
            if records:
                self._consumer.seek(tp, records[0].offset)
