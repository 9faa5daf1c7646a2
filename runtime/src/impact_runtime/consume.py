"""The consume loop of a running Service: fetch a batch, process it, deliver it, recover.

``Service`` (``service.py``) owns the lifecycle (connect, start, stop); this module owns
what happens between start and stop, and the rebalance callbacks.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from impact_runtime.delivery import NO_GENERATION, LostOwnership, Offsets
from impact_runtime.keepalive import poll_every_s
from impact_runtime.outage import Stopping, broker_down
from impact_runtime.pipeline import MessagePipeline
from impact_runtime.structs import ProducerRecord, coalesce_raw
from impact_runtime.transport import Batch, Transport

if TYPE_CHECKING:
    from impact_runtime.service import Service


class ConsumeLoop:
    """Processes batches for ``service`` until it stops (``run``); told of rebalances
    (``Assignments``).

    Per fetched batch (``_process_batch``): decode, handle (retrying a component's
    RetryableError), route failures to ``stage_failed`` and/or the DLQ, then produce the
    outputs and commit the offsets (one transaction in ``exactly_once`` mode).
    """

    def __init__(self, service: Service, pipeline: MessagePipeline) -> None:
        self.service = service
        self.pipeline = pipeline
        self.settings = service.settings
        self.log = service.log
        self._last_tick = time.monotonic()
        # A batch (start offsets, end offsets) whose delivery failed, resolved by _recover.
        self._undelivered: tuple[Offsets, Offsets] | None = None
        # Held from a fetched batch to its delivery; a revocation waits for it, so a
        # partition's next owner never re-processes a batch this replica is still delivering.
        self._in_flight = asyncio.Lock()
        # Set by a revocation: the batch in flight handles no further message, delivers
        # what it handled, and leaves the rest to the partitions' next owner.
        self._revoking = False

    @property
    def kafka(self) -> Transport:
        kafka = self.service._kafka
        assert kafka is not None, "the service is not connected"
        return kafka

    async def run(self) -> None:
        """Process batches until stopped; wait out a broker outage (readyz false, the
        outage policy of ``Outages.wait_out``), then resume from what Kafka committed, so
        nothing is lost or duplicated."""
        while not self.service.stopping.is_set():
            try:
                await self.pipeline.outages.wait_out(self._step, broker_down)
            except Stopping:
                return
            except LostOwnership as exc:  # aborted and rolled back; the group rebalances
                self.log.warning("ownership_lost", reason=str(exc))
            except Exception as exc:
                self.log.exception("loop_crashed", error=repr(exc))
                raise

    async def _step(self) -> None:
        """Resolve an undelivered batch, then process the next one."""
        if self._undelivered is not None:
            await self._recover()
        await self._process_batch()

    async def _process_batch(self) -> None:
        """Process one fetched batch.

        1. poll a batch (``getmany``);
        2. for each message: decode → handle → encode (failures become DLQ or
           ``stage_failed`` records; the pipeline never raises on one message);
        3. mark the message's offset (next offset to read);
        4. create any new output/DLQ topics;
        5. deliver: produce every record, then commit the marked offsets — in one
           transaction (exactly_once) or after every ack (at_least_once); then the
           handler state is committed;
        6. if delivery fails, keep the batch as undelivered: after the outage ``_recover``
           resumes from the committed offsets and rolls the handler state back;
        7. run the service's ``tick`` if due, delivered on its own.

        Steps 2 to 7 keep the consumer polling its paused partitions once they take a
        while (``KeepPolling``), so a long batch never costs the group membership; a
        revocation meanwhile ends the batch after the message being handled (decision 0079).
        """
        kafka = self.kafka
        # Step 1 (a rebalance during the fetch changes the generation: the batch aborts;
        # the first join happens during a fetch, with nothing fetched before it)
        generation = kafka.generation
        batch = await kafka.fetch(self.settings.poll_timeout_ms, self.settings.max_poll_records)
        if generation == NO_GENERATION:
            generation = kafka.generation
        every_s = poll_every_s(self.settings.max_poll_interval_ms)
        async with self._in_flight, kafka.keep_polling(every_s):
            await self._process_fetched(batch, generation)
            # Step 7
            await self._tick_if_due()

    async def _process_fetched(self, batch: Batch, generation: int) -> None:
        """Steps 2 to 6 for one batch fetched in group ``generation`` (under the in-flight
        lock)."""
        records: list[ProducerRecord] = []
        offsets: Offsets = {}
        starts: Offsets = {}
        try:
            for tp, messages in batch.items():
                for message in messages:
                    if self._revoking:  # the rest is the next owner's
                        self.kafka.rewind({tp: message.offset})
                        break
                    starts.setdefault(tp, message.offset)
                    # Step 2
                    records.extend(await self.pipeline.process(message))
                    # Step 3
                    offsets[tp] = message.offset + 1
        except Stopping:
            self.pipeline.rolled_back()
            raise
        records = coalesce_raw(records)
        if not records and not offsets:
            return
        try:
            # Steps 4 and 5
            await self._deliver(records, offsets, generation)
        except LostOwnership:  # a zombie: the partitions' new owner replays the batch
            self.pipeline.rolled_back()
            self.kafka.rewind(starts)
            raise
        except Exception:
            # Step 6
            self._undelivered = (starts, offsets)
            raise
        except Stopping:
            self.pipeline.rolled_back()
            raise
        self.pipeline.delivered()
        self.kafka.observe_lag(offsets, self.service.metrics)

    async def _tick_if_due(self) -> None:
        tick = self.service.tick
        if tick is None or time.monotonic() - self._last_tick < self.service.tick_interval_s:
            return
        self._last_tick = time.monotonic()
        generation = self.kafka.generation

        async def deliver(records: list[ProducerRecord]) -> None:
            try:
                await self._deliver(records, {}, generation)
            except LostOwnership:
                raise
            except Exception:
                self._undelivered = ({}, {})
                raise

        await self.pipeline.tick(tick, time.time(), deliver)

    async def _deliver(
        self, records: list[ProducerRecord], offsets: Offsets, generation: int
    ) -> None:
        await self.kafka.deliver(records, offsets, generation=generation)
        self.service.metrics.batches_delivered.inc()

    async def _recover(self) -> None:
        """After a failed delivery, once Kafka answers again.

        1. renew the transactional producer (this also settles the failed transaction);
        2. in exactly_once, committed offsets at the batch's end mean the transaction did
           commit: the handler state is committed and the batch is not processed again;
           otherwise the state rolls back and the batch is replayed from its start.
        """
        assert self._undelivered is not None
        starts, ends = self._undelivered
        committed = await self.kafka.resume(starts, ends)  # Steps 1 and 2
        if committed:
            self.pipeline.delivered()
        else:
            self.pipeline.rolled_back()
        self._undelivered = None
        self.log.info("delivery_recovered", replayed=not committed, partitions=len(starts))

    # -- rebalance ------------------------------------------------------------------------

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Let the batch in flight deliver first (exactly_once), then commit what is
        pending (at_least_once)."""
        kafka = self.service._kafka
        self._revoking = True
        try:
            if kafka is not None and kafka.exactly_once:
                async with self._in_flight:
                    pass
        finally:
            self._revoking = False
        self.log.info("partitions_revoked", partitions=sorted(map(str, revoked)))
        if kafka is not None:
            try:
                await kafka.commit_pending()
            except KafkaError as exc:
                self.log.warning("commit_on_revoke_failed", error=repr(exc))

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """The service takes the partitions (its ``assigned`` hook, then ready); exactly-once
        then looks for members that left."""
        await self.service.take_assignment(assigned)
        if self.service._kafka is not None:
            self.service._kafka.check_departures()
