"""The Service: binds a handler to input topics with retry, DLQ, commit and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType

import structlog
from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import IllegalStateError, KafkaError, ProducerFenced
from impact_schemas.catalog import topic_for

from impact_runtime.codec import Codec, avro_codec, close_codec
from impact_runtime.delivery import AtLeastOnceDelivery, Delivery, ExactlyOnceDelivery, Offsets
from impact_runtime.dlq import dlq_topic
from impact_runtime.health import HealthServer
from impact_runtime.kafka import ensure_topics, make_consumer, make_producer
from impact_runtime.logs import configure_logging
from impact_runtime.metrics import ServiceMetrics
from impact_runtime.pipeline import STAGE_FAILED, MessagePipeline, call_handler
from impact_runtime.plugins import load_plugins
from impact_runtime.retry import RetryPolicy
from impact_runtime.settings import ServiceSettings
from impact_runtime.structs import Handler, ProducerRecord, RawMessage, Tick, coalesce_raw

OnAssign = Callable[[set[TopicPartition]], Awaitable[None]]


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, service: Service) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.service._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.service._on_assigned(set(assigned))


class Service:
    """A consumer service: ``handle`` each input event and produce what it returns.

    What it does, per fetched batch (see ``_process_batch``): decode, handle (retrying
    RetryableError), route failures to the DLQ or ``stage_failed``, then produce the
    outputs and commit the offsets (one transaction in ``exactly_once`` mode).

    Example::

        def handle(incoming: Incoming) -> list[Outgoing]:
            result = component.execute(incoming.value)
            return [Outgoing("measure_completed", incoming.value["run_id"], result)]

        run_service(Service(ServiceSettings(service_name="measure"), ["measure_requested"],
                            handle, failure_stage="measure"))
    """

    def __init__(
        self,
        settings: ServiceSettings,
        inputs: list[str],
        handle: Handler,
        *,
        codec: Codec | None = None,
        failure_stage: str | None = None,
        on_assign: OnAssign | None = None,
        tick: Tick | None = None,
        tick_interval_s: float = 1.0,
        outputs: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.inputs = list(inputs)
        self.handle = handle
        self.codec = codec
        self.failure_stage = failure_stage
        self.on_assign = on_assign
        self.tick = tick
        self.tick_interval_s = tick_interval_s
        self.outputs = list(outputs or [])
        self.transactional_id = (
            settings.transactional_id or f"{settings.consumer_group}-{uuid.uuid4().hex[:12]}"
        )
        self.metrics = ServiceMetrics(settings.service_name)
        self.ready = asyncio.Event()
        self.assignment: set[TopicPartition] = set()
        self.log = structlog.get_logger("impact_runtime").bind(service=settings.service_name)
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._delivery: Delivery | None = None
        self._health: HealthServer | None = None
        self._known_topics: set[str] = set()
        self._owned_codec: Codec | None = None
        self._last_tick = time.monotonic()
        # Held from a fetched batch to its delivery; a revocation waits for it, so a
        # partition's next owner never re-processes a batch this replica is still delivering.
        self._in_flight = asyncio.Lock()

    # -- wiring ---------------------------------------------------------------------------

    def build_pipeline(
        self, codec: Codec, sleep: Callable[[float], Awaitable[None]]
    ) -> MessagePipeline:
        """The per-message pipeline (shared with FakeBus)."""
        return MessagePipeline(
            service_name=self.settings.service_name,
            codec=codec,
            handle=self.handle,
            topic_prefix=self.settings.topic_prefix,
            retry_policy=RetryPolicy(
                self.settings.max_retries,
                self.settings.retry_backoff_s,
                self.settings.retry_backoff_max_s,
            ),
            metrics=self.metrics,
            failure_stage=self.failure_stage,
            sleep=sleep,
        )

    @property
    def http_port(self) -> int:
        """The bound health/metrics port."""
        if self._health is None:
            raise RuntimeError("service is not started")
        return self._health.port

    @property
    def running(self) -> bool:
        """True while the consume loop task is alive."""
        return self._task is not None and not self._task.done()

    def is_ready(self) -> bool:
        """Running and assigned by the group coordinator (readyz)."""
        return self.running and self.ready.is_set()

    def input_topics(self) -> list[str]:
        """Topic names of the input events."""
        return [topic_for(event, self.settings.topic_prefix) for event in self.inputs]

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Create topics, connect, join the group and start the loop in the background."""
        configure_logging(self.settings.log_level, self.settings.log_format)
        self.log = structlog.get_logger("impact_runtime").bind(service=self.settings.service_name)
        codec = self.codec
        if codec is None:
            codec = self._owned_codec = avro_codec(self.settings.schema_registry_url)
        self.pipeline = self.build_pipeline(codec, asyncio.sleep)
        self._health = HealthServer(
            self.settings.http_host, self.settings.http_port, self.is_ready, self.metrics.render
        )
        await self._health.start()
        inputs = self.input_topics()
        prefix = self.settings.topic_prefix
        outputs = [topic_for(event, prefix) for event in self.outputs]
        if self.failure_stage is not None:
            outputs.append(topic_for(STAGE_FAILED, prefix))
        await self._ensure({*inputs, *(dlq_topic(t) for t in inputs), *outputs})
        exactly_once = self.settings.processing_guarantee == "exactly_once"
        self._producer = make_producer(
            self.settings, self.transactional_id if exactly_once else None
        )
        self._consumer = make_consumer(self.settings)
        await self._producer.start()
        await self._consumer.start()
        self._consumer.subscribe(inputs, listener=_Rebalance(self))
        self._delivery = (
            ExactlyOnceDelivery(self._producer, self.settings.consumer_group)
            if exactly_once
            else AtLeastOnceDelivery(
                self._producer, self._consumer, self.settings.commit_interval_s
            )
        )
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name=f"{self.settings.service_name}-loop")
        self.log.info(
            "service_started",
            inputs=inputs,
            http_port=self.http_port,
            guarantee=self.settings.processing_guarantee,
            transactional_id=self.transactional_id if exactly_once else None,
        )

    async def stop(self) -> None:
        """Finish the current batch, commit, leave the group and close everything."""
        self._stopping.set()
        error: BaseException | None = None
        if self._task is not None:
            try:
                await self._task
            except Exception as exc:  # already logged by the loop
                error = exc
            self._task = None
        self.ready.clear()
        if self._delivery is not None and error is None:
            with contextlib.suppress(KafkaError):
                await self._delivery.commit_pending()
        for client in (self._consumer, self._producer, self._health):
            if client is not None:
                await client.stop()
        self._consumer = self._producer = self._health = self._delivery = None
        await close_codec(self._owned_codec)
        self._owned_codec = None
        self.log.info("service_stopped")

    async def run(self) -> None:
        """Start, then run until ``stop()``, SIGTERM or SIGINT; re-raise a fatal loop error."""
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._stopping.set)
                installed.append(sig)
        try:
            await self.start()
            assert self._task is not None
            await asyncio.wait(
                [self._task, asyncio.create_task(self._stopping.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
            failed = self._task.done() and self._task.exception() is not None
            await self.stop()
            if failed:
                raise RuntimeError(f"{self.settings.service_name} stopped on a fatal error")
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    async def __aenter__(self) -> Service:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- the loop -------------------------------------------------------------------------

    async def _loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._process_batch()
                failures = 0
            except ProducerFenced:
                self.log.error("producer_fenced", transactional_id=self.transactional_id)
                raise
            except KafkaError as exc:
                failures += 1
                self.log.warning("delivery_failed", error=repr(exc), consecutive=failures)
                if failures > self.settings.max_retries:
                    self.log.error("giving_up", error=repr(exc))
                    raise
                await asyncio.sleep(self.pipeline.retry_policy.delay(failures - 1))
                await self._renew_transactional_producer()
            except Exception as exc:
                self.log.exception("loop_crashed", error=repr(exc))
                raise

    async def _process_batch(self) -> None:
        """Process one fetched batch.

        1. poll a batch (``getmany``);
        2. for each message: decode → handle → encode (failures become DLQ or
           ``stage_failed`` records; the pipeline never raises on one message);
        3. mark the message's offset (next offset to read);
        4. run ``tick`` if due and add its outputs;
        5. create any new output/DLQ topics;
        6. deliver: produce every record, then commit the marked offsets — in one
           transaction (exactly_once) or after every ack (at_least_once);
        7. if delivery fails, seek back to the batch start so it is processed again.
        """
        assert self._consumer is not None and self._delivery is not None
        # Step 1
        batch = await self._consumer.getmany(
            timeout_ms=self.settings.poll_timeout_ms, max_records=self.settings.max_poll_records
        )
        async with self._in_flight:
            await self._process_fetched(batch)

    async def _process_fetched(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Steps 2 to 7 for one fetched batch (under the in-flight lock)."""
        assert self._consumer is not None and self._delivery is not None
        records: list[ProducerRecord] = []
        offsets: Offsets = {}
        starts: Offsets = {}
        for tp, messages in batch.items():
            starts[tp] = messages[0].offset
            for message in messages:
                # Step 2
                raw = RawMessage(
                    message.topic,
                    message.partition,
                    message.offset,
                    message.key,
                    message.value,
                    tuple(message.headers or ()),
                )
                records.extend(await self.pipeline.process(raw))
                # Step 3
                offsets[tp] = message.offset + 1
        # Step 4
        records.extend(await self._tick_if_due())
        records = coalesce_raw(records)
        if not records and not offsets:
            return
        try:
            # Step 5
            await self._ensure({r.topic for r in records if r.managed})
            # Step 6
            await self._delivery.deliver(records, offsets)
        except KafkaError:
            # Step 7
            self._rewind(starts)
            raise
        self._observe_lag(offsets)

    async def _tick_if_due(self) -> list[ProducerRecord]:
        if self.tick is None or time.monotonic() - self._last_tick < self.tick_interval_s:
            return []
        self._last_tick = time.monotonic()
        try:
            outputs = await call_handler(self.tick, time.time())
            return await self.pipeline.encode(outputs or [], None)
        except Exception as exc:
            self.metrics.failed("tick", type(exc).__name__).inc()
            self.log.exception("tick_failed", error=repr(exc))
            return []

    async def _renew_transactional_producer(self) -> None:
        """Replace the producer after a failed transaction.

        aiokafka can leave a producer whose transaction failed with stale sequence
        numbers, so every retry fails with OutOfOrderSequenceNumber. A new producer with
        the same transactional id bumps the epoch and starts clean.
        """
        if not isinstance(self._delivery, ExactlyOnceDelivery) or self._producer is None:
            return
        with contextlib.suppress(KafkaError):
            await self._producer.stop()
        self._producer = make_producer(self.settings, self.transactional_id)
        await self._producer.start()
        self._delivery = ExactlyOnceDelivery(self._producer, self.settings.consumer_group)

    def _rewind(self, starts: Offsets) -> None:
        assert self._consumer is not None
        for tp, offset in starts.items():
            with contextlib.suppress(IllegalStateError, AssertionError):
                self._consumer.seek(tp, offset)

    def _observe_lag(self, offsets: Offsets) -> None:
        assert self._consumer is not None
        for tp, position in offsets.items():
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                self.metrics.consumer_lag(tp.topic, str(tp.partition)).set(highwater - position)

    async def _ensure(self, topics: set[str]) -> None:
        missing = topics - self._known_topics
        if missing:
            created = await ensure_topics(self.settings, missing)
            if created:
                self.log.info("topics_created", topics=sorted(created))
            self._known_topics |= missing

    # -- rebalance ------------------------------------------------------------------------

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        if isinstance(self._delivery, ExactlyOnceDelivery):
            async with self._in_flight:  # let the transaction being delivered commit first
                pass
        self.log.info("partitions_revoked", partitions=sorted(map(str, revoked)))
        if self._delivery is not None:
            try:
                await self._delivery.commit_pending()
            except KafkaError as exc:
                self.log.warning("commit_on_revoke_failed", error=repr(exc))

    async def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        self.assignment = assigned
        if self.on_assign is not None:
            await self.on_assign(assigned)
        self.ready.set()
        self.log.info("partitions_assigned", partitions=sorted(map(str, assigned)))


def run_service(service: Service) -> None:
    """Run ``service`` until SIGTERM/SIGINT (``python -m impact_<stage>.service``), after
    importing the ``IMPACT_PLUGINS`` modules."""
    load_plugins(service.settings.plugins)
    asyncio.run(service.run())
