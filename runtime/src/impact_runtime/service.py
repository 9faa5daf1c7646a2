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
from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from impact_contracts import ImpactError
from impact_schemas.catalog import topic_for

from impact_runtime.clients import KafkaClients
from impact_runtime.codec import Codec, avro_codec, close_codec
from impact_runtime.delivery import Offsets
from impact_runtime.dlq import dlq_topic
from impact_runtime.health import HealthServer
from impact_runtime.keepalive import KeepPolling, poll_every_s
from impact_runtime.logs import configure_logging
from impact_runtime.membership import NO_GENERATION, LostOwnership
from impact_runtime.metrics import ServiceMetrics
from impact_runtime.outage import KAFKA, Stopping, broker_down, broker_trouble
from impact_runtime.pipeline import STAGE_FAILED, MessagePipeline
from impact_runtime.plugins import load_plugins
from impact_runtime.retry import RetryPolicy
from impact_runtime.settings import ServiceSettings
from impact_runtime.structs import (
    Handler,
    ProducerRecord,
    RawMessage,
    StateHooks,
    Tick,
    coalesce_raw,
)

OnAssign = Callable[[set[TopicPartition]], Awaitable[None]]
#: Work before connecting (e.g. checking topics); a broker that is down is waited out.
Prepare = Callable[[], Awaitable[None]]


class ServiceCrashed(ImpactError, RuntimeError):
    """The consume loop stopped on a fatal error (the cause is chained)."""


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, service: Service) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.service._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.service._on_assigned(set(assigned))


class Service:
    """A consumer service: ``handle`` each input event and produce what it returns.

    What it does, per fetched batch (see ``_process_batch``): decode, handle (retrying a
    component's RetryableError), route failures to ``stage_failed`` and/or the DLQ, then
    produce the outputs and commit the offsets (one transaction in ``exactly_once`` mode).
    A synchronous ``handle`` runs in a worker thread, as it may block; one that returns
    within a fraction of a millisecond passes ``handler_in_thread=False`` to run on the
    event loop and save the thread hop (two thread wake-ups per message).
    A dependency that is down (registry, broker, coordinators) is waited out with capped
    exponential backoff while readyz answers 503; nothing is dead-lettered for it.

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
        prepare: Prepare | None = None,
        tick: Tick | None = None,
        tick_interval_s: float = 1.0,
        outputs: list[str] | None = None,
        state: StateHooks | None = None,
        handler_in_thread: bool = True,
    ) -> None:
        self.settings = settings
        self.inputs = list(inputs)
        self.handle = handle
        self.codec = codec
        self.failure_stage = failure_stage
        self.on_assign = on_assign
        self.prepare = prepare
        self.tick = tick
        self.tick_interval_s = tick_interval_s
        self.outputs = list(outputs or [])
        self.state = state
        self.handler_in_thread = handler_in_thread
        self.transactional_id = (
            settings.transactional_id or f"{settings.consumer_group}-{uuid.uuid4().hex[:12]}"
        )
        self.metrics = ServiceMetrics(settings.service_name)
        self.ready = asyncio.Event()
        self.assignment: set[TopicPartition] = set()
        self.log = structlog.get_logger("impact_runtime").bind(service=settings.service_name)
        self.pipeline: MessagePipeline | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._kafka: KafkaClients | None = None
        self._health: HealthServer | None = None
        self._owned_codec: Codec | None = None
        self._last_tick = time.monotonic()
        # A batch (start offsets, end offsets) whose delivery failed, resolved by _recover.
        self._undelivered: tuple[Offsets, Offsets] | None = None
        # Held from a fetched batch to its delivery; a revocation waits for it, so a
        # partition's next owner never re-processes a batch this replica is still delivering.
        self._in_flight = asyncio.Lock()
        # Set by a revocation: the batch in flight handles no further message, delivers
        # what it handled, and leaves the rest to the partitions' next owner.
        self._revoking = False

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
            state=self.state,
            max_record_bytes=self.settings.max_message_bytes,
            handler_in_thread=self.handler_in_thread,
            handler_timeout_s=self.settings.handler_timeout_s,
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
        """Running, assigned by the group coordinator, and no dependency down (readyz)."""
        waiting = self.pipeline is not None and self.pipeline.outages.waiting
        return self.running and self.ready.is_set() and not waiting

    def input_topics(self) -> list[str]:
        """Topic names of the input events."""
        return [topic_for(event, self.settings.topic_prefix) for event in self.inputs]

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Create topics, connect, join the group and start the loop in the background.

        A broker that is not reachable yet is waited for (readyz false, one log line and
        one ``impact_dependency_backoff_total`` step per attempt), as a broker outage is;
        so is one that fails the ``prepare`` hook, which runs again on each attempt.
        """
        configure_logging(self.settings.log_level, self.settings.log_format)
        self.log = structlog.get_logger("impact_runtime").bind(service=self.settings.service_name)
        codec = self.codec
        if codec is None:
            codec = self._owned_codec = avro_codec(self.settings.schema_registry_url)
        self.pipeline = self.build_pipeline(codec, self._sleep)
        self._health = HealthServer(
            self.settings.http_host, self.settings.http_port, self.is_ready, self.metrics.render
        )
        await self._health.start()
        inputs = self.input_topics()
        prefix = self.settings.topic_prefix
        outputs = [topic_for(event, prefix) for event in self.outputs]
        if self.failure_stage is not None:
            outputs.append(topic_for(STAGE_FAILED, prefix))
        topics = {*inputs, *(dlq_topic(t) for t in inputs), *outputs}
        self._stopping.clear()
        try:
            self._kafka = await self.pipeline.outages.wait_out(
                lambda: self._connect(topics, inputs), broker_down
            )
        except Stopping:  # stop() closes the rest
            raise
        except BaseException:  # a fatal error: nothing of this start stays open
            await self._health.stop()
            self._health = None
            raise
        self._task = asyncio.create_task(self._loop(), name=f"{self.settings.service_name}-loop")
        self.log.info(
            "service_started",
            inputs=inputs,
            http_port=self.http_port,
            guarantee=self.settings.processing_guarantee,
            transactional_id=self._kafka.transactional_id,
        )

    async def _connect(self, topics: set[str], inputs: list[str]) -> KafkaClients:
        """Run ``prepare``, then new clients that created ``topics`` and subscribed to
        ``inputs``; a failed attempt closes what it opened (a broker that is down is waited
        out by the caller)."""
        if self.prepare is not None:
            await self.prepare()
        kafka = KafkaClients(self.settings, self.transactional_id, self.log)
        try:
            await kafka.ensure(topics)
            await kafka.start(inputs, _Rebalance(self))
        except BaseException:
            await kafka.stop(commit=False)
            raise
        return kafka

    async def stop(self) -> None:
        """Finish the current batch, commit, leave the group and close everything.

        Raises:
            Exception: the loop's fatal error, after everything is closed (so
                ``async with Service(...)`` never hides a crash).
        """
        self._stopping.set()
        error: BaseException | None = None
        if self._task is not None:
            try:
                await self._task
            except Exception as exc:  # already logged by the loop
                error = exc
            self._task = None
        self.ready.clear()
        if self._kafka is not None:
            await self._kafka.stop(commit=error is None)
        if self._health is not None:
            await self._health.stop()
        self._kafka = self._health = None
        await close_codec(self._owned_codec)
        self._owned_codec = None
        self.log.info("service_stopped")
        if error is not None:
            raise error

    async def run(self) -> None:
        """Start, then run until ``stop()``, SIGTERM or SIGINT.

        Raises:
            ServiceCrashed: the loop stopped on a fatal error (chained as the cause).
        """
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._stopping.set)
                installed.append(sig)
        try:
            try:
                await self.start()
            except Stopping:  # stopped while still waiting for the broker
                await self.stop()
                return
            assert self._task is not None
            await asyncio.wait(
                [self._task, asyncio.create_task(self._stopping.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
            try:
                await self.stop()
            except Exception as exc:
                name = self.settings.service_name
                raise ServiceCrashed(f"{name} stopped on a fatal error: {exc!r}") from exc
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
        """Process batches until stopped; wait out a broker outage (readyz false), then
        resume from what Kafka committed, so nothing is lost or duplicated."""
        assert self.pipeline is not None
        attempt = 0
        while not self._stopping.is_set():
            try:
                if self._undelivered is not None:
                    await self._recover()
                await self._process_batch()
            except Stopping:
                return
            except LostOwnership as exc:  # aborted and rolled back; the group rebalances
                self.log.warning("ownership_lost", reason=str(exc))
                continue
            except Exception as exc:
                stalled = self._kafka is not None and self._kafka.stalled
                if not broker_trouble(exc, after_outage=attempt > 0 or stalled):
                    self.log.exception("loop_crashed", error=repr(exc))
                    raise
                attempt += 1
                try:
                    await self.pipeline.outages.backoff(KAFKA, exc, attempt)
                except Stopping:
                    return
                continue
            if attempt:
                self.pipeline.outages.recovered(KAFKA)
                attempt = 0

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
        7. run ``tick`` if due, delivered on its own (``MessagePipeline.tick``).

        Steps 2 to 7 keep the consumer polling its paused partitions once they take a
        while (``KeepPolling``), so a long batch never costs the group membership; a
        revocation meanwhile ends the batch after the message being handled (decision 0079).
        """
        assert self._kafka is not None
        # Step 1 (a rebalance during the fetch changes the generation: the batch aborts;
        # the first join happens during a fetch, with nothing fetched before it)
        generation = self._kafka.membership.generation
        batch = await self._kafka.consumer.getmany(
            timeout_ms=self.settings.poll_timeout_ms, max_records=self.settings.max_poll_records
        )
        if generation == NO_GENERATION:
            generation = self._kafka.membership.generation
        every_s = poll_every_s(self.settings.max_poll_interval_ms)
        async with self._in_flight, KeepPolling(self._kafka.consumer, every_s):
            await self._process_fetched(batch, generation)
            # Step 7
            await self._tick_if_due()

    async def _process_fetched(
        self, batch: dict[TopicPartition, list[ConsumerRecord]], generation: int
    ) -> None:
        """Steps 2 to 6 for one batch fetched in group ``generation`` (under the in-flight
        lock)."""
        assert self.pipeline is not None and self._kafka is not None
        records: list[ProducerRecord] = []
        offsets: Offsets = {}
        starts: Offsets = {}
        try:
            for tp, messages in batch.items():
                for message in messages:
                    if self._revoking:  # the rest is the next owner's
                        self._kafka.rewind({tp: message.offset})
                        break
                    starts.setdefault(tp, message.offset)
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
            self._kafka.rewind(starts)
            raise
        except Exception:
            # Step 6
            self._undelivered = (starts, offsets)
            raise
        except Stopping:
            self.pipeline.rolled_back()
            raise
        self.pipeline.delivered()
        self._kafka.observe_lag(offsets, self.metrics)

    async def _tick_if_due(self) -> None:
        if self.tick is None or time.monotonic() - self._last_tick < self.tick_interval_s:
            return
        self._last_tick = time.monotonic()
        assert self.pipeline is not None and self._kafka is not None
        generation = self._kafka.membership.generation

        async def deliver(records: list[ProducerRecord]) -> None:
            try:
                await self._deliver(records, {}, generation)
            except LostOwnership:
                raise
            except Exception:
                self._undelivered = ({}, {})
                raise

        await self.pipeline.tick(self.tick, time.time(), deliver)

    async def _deliver(
        self, records: list[ProducerRecord], offsets: Offsets, generation: int
    ) -> None:
        assert self._kafka is not None and self.pipeline is not None
        outages, stopping = self.pipeline.outages, self._stopping
        await self._kafka.deliver(
            records, offsets, generation=generation, outages=outages, stopping=stopping
        )
        self.metrics.batches_delivered.inc()

    async def _recover(self) -> None:
        """After a failed delivery, once Kafka answers again.

        1. renew the transactional producer (this also settles the failed transaction);
        2. in exactly_once, committed offsets at the batch's end mean the transaction did
           commit: the handler state is committed and the batch is not processed again;
           otherwise the state rolls back and the batch is replayed from its start.
        """
        assert self.pipeline is not None and self._kafka is not None
        assert self._undelivered is not None
        starts, ends = self._undelivered
        committed = await self._kafka.resume(starts, ends)  # Steps 1 and 2
        if committed:
            self.pipeline.delivered()
        else:
            self.pipeline.rolled_back()
        self._undelivered = None
        self.log.info("delivery_recovered", replayed=not committed, partitions=len(starts))

    async def _sleep(self, delay: float) -> None:
        """A backoff sleep that ends early, raising ``Stopping``, once stop is requested."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)
        if self._stopping.is_set():
            raise Stopping

    # -- rebalance ------------------------------------------------------------------------

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        self._revoking = True
        try:
            if self._kafka is not None and self._kafka.exactly_once:
                async with self._in_flight:  # let the batch in flight deliver first
                    pass
        finally:
            self._revoking = False
        self.log.info("partitions_revoked", partitions=sorted(map(str, revoked)))
        if self._kafka is not None:
            try:
                await self._kafka.delivery.commit_pending()
            except KafkaError as exc:
                self.log.warning("commit_on_revoke_failed", error=repr(exc))

    async def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        self.assignment = assigned
        if self.on_assign is not None:
            await self.on_assign(assigned)
        self.ready.set()
        self.log.info("partitions_assigned", partitions=sorted(map(str, assigned)))
        if self._kafka is not None:
            self._kafka.check_departures()


def run_service(service: Service) -> None:
    """Run ``service`` until SIGTERM/SIGINT (``python -m impact_<stage>.service``), after
    importing the ``IMPACT_PLUGINS`` modules."""
    load_plugins(service.settings.plugins)
    asyncio.run(service.run())
