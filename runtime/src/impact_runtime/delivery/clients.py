"""The Kafka clients of one service: consumer, producer, delivery, and their recovery."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from impact_kafka.topics import ensure_topics

from impact_runtime.delivery.departures import DepartedMembers
from impact_runtime.delivery.fencing import Fencing, is_fenced
from impact_runtime.delivery.guarantees import (
    AtLeastOnceDelivery,
    Delivery,
    ExactlyOnceDelivery,
    Offsets,
)
from impact_runtime.delivery.membership import GroupMembership
from impact_runtime.delivery.watch import DeliveryWatch
from impact_runtime.kafka import make_consumer, make_producer
from impact_runtime.keepalive import KeepPolling
from impact_runtime.metrics import ServiceMetrics
from impact_runtime.outage import KAFKA, Outages, Stopping
from impact_runtime.settings import ServiceSettings
from impact_runtime.structs import ProducerRecord, RawMessage
from impact_runtime.transport import Assignments, Batch

#: Longest wait for one recovery call (new producer, committed offsets) before backing off.
RECOVERY_TIMEOUT_S = 10.0


class _Rebalance(ConsumerRebalanceListener):
    """aiokafka's rebalance callbacks, forwarded to ``Assignments``."""

    def __init__(self, assignments: Assignments) -> None:
        self.assignments = assignments

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.assignments.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.assignments.on_assigned(set(assigned))


class KafkaClients:
    """Connects, delivers batches by the processing guarantee, and recovers after a
    failed delivery (a renewed transactional producer, the committed offsets)."""

    def __init__(
        self,
        settings: ServiceSettings,
        transactional_id: str,
        log: Any,
        outages: Outages,
        stopping: asyncio.Event,
    ) -> None:
        """Clients of ``settings``; deliveries note Kafka stalls in ``outages`` and end
        early once ``stopping`` is set."""
        self.settings = settings
        self.exactly_once = settings.processing_guarantee == "exactly_once"
        self.transactional_id = transactional_id if self.exactly_once else None
        self.log = log
        self.outages = outages
        self.stopping = stopping
        # a member's client id names its transactional id, for the others to fence it
        self.consumer = make_consumer(settings, client_id=self.transactional_id)
        self.membership = GroupMembership(self.consumer)
        self.departures = (
            DepartedMembers(settings, transactional_id, log) if self.exactly_once else None
        )
        self._departure_check: asyncio.Task[None] | None = None
        self._check_again = False
        self.fencing = Fencing(self.membership, self.renew_producer)
        self.producer = make_producer(settings, self.transactional_id)
        self.delivery: Delivery = self._delivery()
        self._known_topics: set[str] = set()

    async def start(self, inputs: list[str], assignments: Assignments) -> None:
        """Connect both clients and subscribe to ``inputs``; ``assignments`` hears of each
        rebalance."""
        await self.producer.start()
        await self.consumer.start()
        self.consumer.subscribe(inputs, listener=_Rebalance(assignments))

    @property
    def generation(self) -> int:
        """The group generation the consumer is in now (``NO_GENERATION`` when in none)."""
        return self.membership.generation

    async def fetch(self, timeout_ms: int, max_records: int) -> Batch:
        """The next batch of records, per partition."""
        fetched = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        return {
            tp: [
                RawMessage(m.topic, m.partition, m.offset, m.key, m.value, tuple(m.headers or ()))
                for m in messages
            ]
            for tp, messages in fetched.items()
        }

    def keep_polling(self, every_s: float) -> KeepPolling:
        """Keeps the consumer in its group while a long batch is handled."""
        return KeepPolling(self.consumer, every_s)

    async def commit_pending(self) -> None:
        """Commit offsets whose outputs are acknowledged and not committed yet."""
        await self.delivery.commit_pending()

    async def stop(self, *, commit: bool) -> None:
        """Commit pending offsets (when ``commit``), leave the group, close the clients.

        Each step gets ``RECOVERY_TIMEOUT_S``: with the broker unreachable, aiokafka would
        wait for it forever (flushing, leaving the group); a stop must not.
        """
        if self._departure_check is not None:
            self._departure_check.cancel()
        steps = [self.consumer.stop(), self.producer.stop()]
        if commit:
            steps.insert(0, self.delivery.commit_pending())
        for step in steps:
            task = asyncio.ensure_future(step)
            done, _ = await asyncio.wait({task}, timeout=RECOVERY_TIMEOUT_S)
            if not done:
                task.cancel()
                self.log.warning("close_timed_out", timeout_s=RECOVERY_TIMEOUT_S)
            elif not task.cancelled() and isinstance(task.exception(), KafkaError):
                self.log.warning("close_failed", error=repr(task.exception()))

    def check_departures(self) -> None:
        """After a rebalance: fence the transactional ids of members that left (in the
        background; a check already running looks again when it ends)."""
        if self.departures is None:
            return
        if self._departure_check is not None and not self._departure_check.done():
            self._check_again = True
            return
        self._departure_check = asyncio.create_task(self._check_departures())

    async def _check_departures(self) -> None:
        assert self.departures is not None
        self._check_again = True
        while self._check_again:
            self._check_again = False
            await self.departures.check()

    async def ensure(self, topics: set[str]) -> None:
        """Create the topics not created or seen yet (one admin call per new set)."""
        missing = topics - self._known_topics
        if missing:
            created = await ensure_topics(self.settings, missing)
            if created:
                self.log.info("topics_created", topics=sorted(created))
            self._known_topics |= missing

    async def deliver(
        self, records: list[ProducerRecord], offsets: Offsets, *, generation: int
    ) -> None:
        """Create new output topics, produce ``records`` and commit ``offsets``, while the
        consumer is still in group ``generation`` (the one the batch was fetched in).

        The delivery runs in the calling task, so the records reach the producer before
        anything else runs on the loop (a task of its own would cost a hop, ~0.1-0.3 ms per
        batch, decision 0076); a ``DeliveryWatch`` timer watches it.

        aiokafka keeps retrying sends to an unreachable broker instead of failing, so a
        delivery that made no progress (no record sent or acknowledged) for
        ``delivery_stall_s`` marks Kafka as down (readyz 503, one log line per backoff
        step) until it completes or fails; ``fencing.stalled`` then says so until the
        next delivery. A large fan-out that keeps sending is not a stall.

        Raises:
            Stopping: ``self.stopping`` was set while the delivery had run for
                ``delivery_stall_s`` or more (a shorter one finishes first).
            KafkaError: the delivery failed.
            LostOwnership: the group moved on; the transaction was aborted.
            AbortedInOutage: a fenced delivery while Kafka was down (``fencing``).
        """
        stall_s = self.settings.delivery_stall_s
        watch = DeliveryWatch(self.delivery.progress, stall_s, self.outages, self.stopping)
        try:
            await self._deliver(records, offsets, generation)
        except asyncio.CancelledError:
            if not watch.stopped:
                raise
            watch.uncancel()
            raise Stopping from None
        except Exception as exc:
            watch.close()  # nothing may cancel the recovery below
            self.fencing.stalled = watch.steps > 0
            self._explain_timeout(len(records), watch.elapsed_s())
            if is_fenced(exc):
                await self.fencing.judge(exc, generation, self.outages)
            raise
        finally:
            watch.close()
        self.fencing.stalled = watch.steps > 0
        if watch.steps:
            self.outages.recovered(KAFKA)

    def _explain_timeout(self, records: int, elapsed_s: float) -> None:
        """A failed transaction that outlived its timeout was aborted by the broker (aiokafka
        says ProducerFenced): its replay fails the same way unless the timeout covers it."""
        timeout_s = self.settings.transaction_timeout_ms / 1000
        if self.exactly_once and elapsed_s > timeout_s:
            self.log.error(
                "transaction_outlived_timeout",
                records=records,
                elapsed_s=round(elapsed_s, 1),
                timeout_s=timeout_s,
                hint="raise IMPACT_TRANSACTION_TIMEOUT_MS above the time to send this batch",
            )

    async def resume(self, starts: Offsets, ends: Offsets) -> bool:
        """After a failed delivery: renew the producer, then resume from what the group
        committed. Return True when the batch's transaction did commit after all (the
        offsets are at its end, so nothing is replayed); else seek back to ``starts``.
        In at_least_once the batch is always replayed (idempotent handlers)."""
        await self.renew_producer()
        if ends and self.exactly_once:

            async def read() -> dict[TopicPartition, int | None]:
                return {tp: await self.consumer.committed(tp) for tp in ends}

            if await asyncio.wait_for(read(), RECOVERY_TIMEOUT_S) == ends:
                return True
        self.rewind(starts)
        return False

    async def _deliver(
        self, records: list[ProducerRecord], offsets: Offsets, generation: int
    ) -> None:
        await self.ensure({r.topic for r in records if r.managed})
        await self.delivery.deliver(records, offsets, generation)

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
            group = self.settings.consumer_group
            return ExactlyOnceDelivery(self.producer, group, self.membership)
        return AtLeastOnceDelivery(self.producer, self.consumer, self.settings.commit_interval_s)
