"""The Service: binds a handler to input topics, and its lifecycle (start, ready, stop).

What runs between start and stop (fetch, process, deliver, recover) is ``consume.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiokafka import TopicPartition
from impact_contracts import ImpactError
from impact_schemas.catalog import topic_for

from impact_runtime.calls import runs_on_event_loop
from impact_runtime.codec import Codec, avro_codec, close_codec
from impact_runtime.consume import ConsumeLoop
from impact_runtime.delivery import KafkaClients
from impact_runtime.dlq import dlq_topic
from impact_runtime.health import HealthServer
from impact_runtime.logs import configure_logging
from impact_runtime.metrics import ServiceMetrics
from impact_runtime.outage import Stopping, broker_down
from impact_runtime.pipeline import MessagePipeline
from impact_runtime.plugins import load_plugins
from impact_runtime.retry import RetryPolicy
from impact_runtime.settings import ServiceSettings
from impact_runtime.stage import STAGE_FAILED, stage_failed_event
from impact_runtime.structs import Handler, StateHooks, Tick
from impact_runtime.transport import KafkaTopics, Topics


class ServiceCrashed(ImpactError, RuntimeError):
    """The consume loop stopped on a fatal error (the cause is chained)."""


class Service:
    """A consumer service: ``handle`` each input event and produce what it returns.

    The consume loop (``consume.py``) decodes, handles (retrying a component's
    RetryableError), routes failures to the ``failure_stage``'s ``stage_failed`` and/or the
    DLQ, then produces the outputs and commits the offsets (one transaction in
    ``exactly_once``). A sync ``handle`` runs in a worker thread unless it is marked
    ``on_event_loop`` (one that returns at once saves the thread hop). A
    dependency that is down is waited out (readyz 503); nothing is dead-lettered for it.

    Extension point (a subclass, e.g. the orchestrator's): set ``tick``,
    ``tick_interval_s``, ``state`` and ``output_events``; override ``prepare``,
    ``assigned`` and ``is_ready``. See docs/runtime.md.
    """

    #: Called every ``tick_interval_s`` with the time; its outputs are delivered on their own.
    tick: Tick | None = None
    tick_interval_s: float = 1.0
    #: Handler state committed once a delivery succeeded, rolled back when it failed.
    state: StateHooks | None = None
    #: Events whose topics are created at start (others are created on first delivery).
    output_events: tuple[str, ...] = ()

    def __init__(
        self,
        settings: ServiceSettings,
        inputs: list[str],
        handle: Handler,
        *,
        codec: Codec | None = None,
        failure_stage: str | None = None,
    ) -> None:
        self.settings = settings
        self.inputs = list(inputs)
        self.handle = handle
        self.codec = codec
        self.failure_stage = failure_stage
        self.handler_in_thread = not runs_on_event_loop(handle)
        self.transactional_id = (
            settings.transactional_id or f"{settings.consumer_group}-{uuid.uuid4().hex[:12]}"
        )
        self.metrics = ServiceMetrics(settings.service_name)
        self.ready = asyncio.Event()
        #: set to stop: the loop ends after the batch in hand, then ``run`` stops
        self.stopping = asyncio.Event()
        self.assignment: set[TopicPartition] = set()
        #: the bus's topics, for state kept in a topic (FakeBus installs its own)
        self.bus_topics: Topics = KafkaTopics(settings)
        self.log = structlog.get_logger("impact_runtime").bind(service=settings.service_name)
        self.pipeline: MessagePipeline | None = None
        self.loop: ConsumeLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._kafka: KafkaClients | None = None
        self._health: HealthServer | None = None
        self._owned_codec: Codec | None = None

    async def prepare(self) -> None:
        """Work before connecting (e.g. checking topics); runs again on each connection
        attempt, and a broker that is down is waited out."""

    async def assigned(self, partitions: set[TopicPartition]) -> None:
        """Called with the partitions the group assigned, before the service is ready."""

    async def take_assignment(self, partitions: set[TopicPartition]) -> None:
        """The group assigned ``partitions``: run ``assigned``, then be ready."""
        self.assignment = partitions
        await self.assigned(partitions)
        self.ready.set()
        self.log.info("partitions_assigned", partitions=sorted(map(str, partitions)))

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
            failure_event=stage_failed_event(self.failure_stage) if self.failure_stage else None,
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

    def topics(self) -> set[str]:
        """The topics created at start: inputs, their DLQs, ``output_events`` and (with a
        ``failure_stage``) ``stage_failed``."""
        inputs, prefix = self.input_topics(), self.settings.topic_prefix
        outputs = [topic_for(event, prefix) for event in self.output_events]
        if self.failure_stage is not None:
            outputs.append(topic_for(STAGE_FAILED, prefix))
        return {*inputs, *(dlq_topic(t) for t in inputs), *outputs}

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
        self.loop = ConsumeLoop(self, self.pipeline)
        self._health = HealthServer(
            self.settings.http_host, self.settings.http_port, self.is_ready, self.metrics.render
        )
        await self._health.start()
        inputs, topics = self.input_topics(), self.topics()
        self.stopping.clear()
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
        self._task = asyncio.create_task(self.loop.run(), name=f"{self.settings.service_name}-loop")
        self.log.info(
            "service_started",
            inputs=inputs,
            http_port=self.http_port,
            guarantee=self.settings.processing_guarantee,
            transactional_id=self._kafka.transactional_id,
        )

    async def _connect(self, topics: set[str], inputs: list[str]) -> KafkaClients:
        """Run ``prepare``, then new clients that created ``topics`` and subscribed to
        ``inputs``; a failed attempt closes what it opened (the caller waits out outages)."""
        assert self.loop is not None and self.pipeline is not None
        await self.prepare()
        outages, stopping = self.pipeline.outages, self.stopping
        kafka = KafkaClients(self.settings, self.transactional_id, self.log, outages, stopping)
        try:
            await kafka.ensure(topics)
            await kafka.start(inputs, self.loop)
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
        self.stopping.set()
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
                loop.add_signal_handler(sig, self.stopping.set)
                installed.append(sig)
        try:
            try:
                await self.start()
            except Stopping:  # stopped while still waiting for the broker
                await self.stop()
                return
            assert self._task is not None
            await asyncio.wait(
                [self._task, asyncio.create_task(self.stopping.wait())],
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

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _sleep(self, delay: float) -> None:
        """A backoff sleep that ends early, raising ``Stopping``, once stop is requested."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), delay)
        if self.stopping.is_set():
            raise Stopping


def run_service(service: Service) -> None:
    """Run ``service`` until SIGTERM/SIGINT (``python -m impact_<stage>.service``), after
    importing the ``IMPACT_PLUGINS`` modules."""
    load_plugins(service.settings.plugins)
    asyncio.run(service.run())
