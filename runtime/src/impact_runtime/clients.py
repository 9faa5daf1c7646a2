"""The Kafka clients of one service: consumer, producer, delivery, and their recovery."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError

from impact_runtime.delivery import AtLeastOnceDelivery, Delivery, ExactlyOnceDelivery, Offsets
from impact_runtime.kafka import ensure_topics, make_consumer, make_producer
from impact_runtime.metrics import ServiceMetrics
from impact_runtime.settings import ServiceSettings
from impact_runtime.structs import ProducerRecord

#: Longest wait for one recovery call (new producer, committed offsets) before backing off.
RECOVERY_TIMEOUT_S = 10.0


class KafkaClients:
    """Connects, delivers batches by the processing guarantee, and recovers after a
    failed delivery (a renewed transactional producer, the committed offsets)."""

    def __init__(self, settings: ServiceSettings, transactional_id: str, log: Any) -> None:
        self.settings = settings
        self.exactly_once = settings.processing_guarantee == "exactly_once"
        self.transactional_id = transactional_id if self.exactly_once else None
        self.log = log
        self.consumer = make_consumer(settings)
        self.producer = make_producer(settings, self.transactional_id)
        self.delivery: Delivery = self._delivery()
        self._known_topics: set[str] = set()

    async def start(self, inputs: list[str], listener: ConsumerRebalanceListener) -> None:
        """Connect both clients and subscribe to ``inputs``."""
        await self.producer.start()
        await self.consumer.start()
        self.consumer.subscribe(inputs, listener=listener)

    async def stop(self, *, commit: bool) -> None:
        """Commit pending offsets (when ``commit``), leave the group, close the clients."""
        if commit:
            with contextlib.suppress(KafkaError):
                await self.delivery.commit_pending()
        await self.consumer.stop()
        await self.producer.stop()

    async def ensure(self, topics: set[str]) -> None:
        """Create the topics not created or seen yet (one admin call per new set)."""
        missing = topics - self._known_topics
        if missing:
            created = await ensure_topics(self.settings, missing)
            if created:
                self.log.info("topics_created", topics=sorted(created))
            self._known_topics |= missing

    async def deliver(self, records: list[ProducerRecord], offsets: Offsets) -> None:
        """Create new output topics, then produce ``records`` and commit ``offsets``."""
        await self.ensure({r.topic for r in records if r.managed})
        await self.delivery.deliver(records, offsets)

    async def committed_all(self, offsets: Offsets) -> bool:
        """Whether the group's committed offsets are ``offsets`` (a transaction that looked
        failed may have committed). Always False in at_least_once (replay is safe there)."""
        if not offsets or not self.exactly_once:
            return False

        async def read() -> dict[TopicPartition, int | None]:
            return {tp: await self.consumer.committed(tp) for tp in offsets}

        return await asyncio.wait_for(read(), RECOVERY_TIMEOUT_S) == offsets

    async def renew_producer(self) -> None:
        """Replace the producer after a failed transaction.

        aiokafka can leave a producer whose transaction failed with stale sequence
        numbers, so every retry fails with OutOfOrderSequenceNumber. A new producer with
        the same transactional id bumps the epoch, settles the old transaction and starts
        clean.
        """
        if not self.exactly_once:
            return
        with contextlib.suppress(KafkaError):
            await self.producer.stop()
        self.producer = make_producer(self.settings, self.transactional_id)
        self.delivery = self._delivery()
        try:
            await asyncio.wait_for(self.producer.start(), RECOVERY_TIMEOUT_S)
        except BaseException:
            with contextlib.suppress(KafkaError):
                await self.producer.stop()
            raise

    def rewind(self, starts: Offsets) -> None:
        """Seek back to ``starts`` (partitions no longer assigned are skipped)."""
        for tp, offset in starts.items():
            with contextlib.suppress(IllegalStateError, AssertionError):
                self.consumer.seek(tp, offset)

    def observe_lag(self, offsets: Offsets, metrics: ServiceMetrics) -> None:
        for tp, position in offsets.items():
            highwater = self.consumer.highwater(tp)
            if highwater is not None:
                metrics.consumer_lag(tp.topic, str(tp.partition)).set(highwater - position)

    def _delivery(self) -> Delivery:
        if self.exactly_once:
            return ExactlyOnceDelivery(self.producer, self.settings.consumer_group)
        return AtLeastOnceDelivery(self.producer, self.consumer, self.settings.commit_interval_s)
