"""How a batch's outputs and offsets reach Kafka, one class per processing guarantee."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from impact_runtime.delivery.membership import GroupMembership, LostOwnership
from impact_runtime.structs import ProducerRecord

Offsets = dict[TopicPartition, int]


class Progress:
    """Records handed to the producer plus records acknowledged: a delivery whose count
    still moves is slow (a large fan-out), not stalled on an unreachable broker."""

    def __init__(self) -> None:
        self.count = 0

    def step(self, *_: object) -> None:
        self.count += 1


class Delivery(Protocol):
    """Produces a batch's records and commits its offsets, outputs first."""

    progress: Progress

    async def deliver(
        self, records: list[ProducerRecord], offsets: Offsets, generation: int
    ) -> None: ...

    async def commit_pending(self) -> None: ...


async def _send_all(
    producer: AIOKafkaProducer, records: list[ProducerRecord], progress: Progress
) -> list[Awaitable[object]]:
    """Hand ``records`` to the producer; the futures of their acknowledgements."""
    futures: list[Awaitable[object]] = []
    for r in records:
        future = await producer.send(
            r.topic, r.value, key=r.key, headers=list(r.headers), partition=r.partition
        )
        progress.step()
        future.add_done_callback(progress.step)
        futures.append(future)
    return futures


class ExactlyOnceDelivery:
    """One transaction per batch: all records plus the consumed offsets, or nothing.

    A batch fetched in group ``generation`` commits only while the consumer is still in
    that generation (``LostOwnership`` aborts it otherwise).
    """

    def __init__(
        self, producer: AIOKafkaProducer, group_id: str, membership: GroupMembership
    ) -> None:
        self.producer = producer
        self.group_id = group_id
        self.membership = membership
        self.progress = Progress()

    async def deliver(
        self, records: list[ProducerRecord], offsets: Offsets, generation: int
    ) -> None:
        """Produce ``records`` and commit ``offsets`` atomically (aborted on any error).

        1. hand every record to the producer;
        2. add the offsets to the transaction while the records are acknowledged (aiokafka
           sends the transaction's own requests one by one, but alongside produce
           requests), and once they are, confirm the generation (a heartbeat);
        3. commit only if every step succeeded: a failed send aborts the transaction
           instead of vanishing, and a zombie aborts on the confirmation (decision 0055).
        """
        async with self.producer.transaction():
            futures = await _send_all(self.producer, records, self.progress)

            async def acknowledged_and_confirmed() -> None:
                await asyncio.gather(*futures)
                await self.membership.confirm(generation)  # a zombie aborts here

            steps = [acknowledged_and_confirmed()]
            if offsets:
                steps.append(self.producer.send_offsets_to_transaction(offsets, self.group_id))
            outcomes = await asyncio.gather(*steps, return_exceptions=True)
            errors = [e for e in outcomes if isinstance(e, BaseException)]
            if errors:  # ownership lost wins: the batch is then rewound, not recovered
                raise next((e for e in errors if isinstance(e, LostOwnership)), errors[0])

    async def commit_pending(self) -> None:
        """Nothing is ever pending: each batch commits in its transaction."""


class AtLeastOnceDelivery:
    """Idempotent producer: send and await every ack, then commit offsets."""

    def __init__(
        self, producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, commit_interval_s: float
    ) -> None:
        self.producer = producer
        self.consumer = consumer
        self.commit_interval_s = commit_interval_s
        self.pending: Offsets = {}
        self.progress = Progress()
        self._last_commit = time.monotonic()

    async def deliver(
        self, records: list[ProducerRecord], offsets: Offsets, generation: int
    ) -> None:
        """Produce and await acks; commit offsets now or at the next interval (a replay
        after a rebalance may repeat outputs: at least once, so ``generation`` is unused)."""
        futures = await _send_all(self.producer, records, self.progress)
        if futures:
            await asyncio.gather(*futures)
        self.pending.update(offsets)
        if time.monotonic() - self._last_commit >= self.commit_interval_s:
            await self.commit_pending()

    async def commit_pending(self) -> None:
        """Commit offsets whose outputs are already acknowledged."""
        offsets, self.pending = self.pending, {}
        self._last_commit = time.monotonic()
        if offsets:  # if this fails the messages are re-processed: at least once
            await self.consumer.commit(offsets)
