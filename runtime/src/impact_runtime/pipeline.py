"""One message (or one tick) through the service: decode, handle, encode, route failures.

Shared by ``Service`` (Kafka) and ``FakeBus`` (memory), so both behave the same.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache, partial
from typing import Any

import structlog
from impact_contracts import ContractViolation, SchemaMismatch
from impact_schemas.catalog import event_for_topic, topic_for
from impact_schemas.events import schema_version

from impact_runtime.codec import Codec, VersionedCodec
from impact_runtime.dlq import dead_letter
from impact_runtime.envelope import envelope_headers, fill_envelope
from impact_runtime.failures import (
    STAGE_FAILED,
    HandlerTimedOut,
    dead_letters,
    failure_reason,
    stage_failure,
)
from impact_runtime.kafka_config import DEFAULT_MAX_MESSAGE_BYTES
from impact_runtime.metrics import ServiceMetrics
from impact_runtime.outage import Outages, codec_down, dependency_down
from impact_runtime.retry import RetryPolicy, Sleep, call_with_retry, is_retriable
from impact_runtime.structs import (
    Forward,
    Handler,
    HandlerResult,
    Incoming,
    Outgoing,
    ProducerRecord,
    RawMessage,
    Record,
    Reject,
    StateHooks,
    Tick,
    coalesce_raw,
)

FORWARDED_FROM = "forwarded_from"  # header a Forward adds: "<partition>:<offset>" it came from
#: Encoding yields to the event loop after this many outputs, so a large fan-out (100,000
#: commands for one manifest) never starves the consumer's heartbeat or the health server.
ENCODE_YIELD_EVERY = 256

__all__ = [
    "ENCODE_YIELD_EVERY",
    "FORWARDED_FROM",
    "STAGE_FAILED",
    "MessagePipeline",
    "call_handler",
    "event_name",
]

Deliver = Callable[[list[ProducerRecord]], Awaitable[object]]
IsDown = Callable[[BaseException], str | None]


@lru_cache(maxsize=1024)
def event_name(topic: str) -> str:
    """The catalog event name a topic carries (ConfigError for unknown topics)."""
    spec = event_for_topic(topic)
    return spec if isinstance(spec, str) else str(spec.name)


async def call_handler(
    handle: Callable[..., Any],
    *args: Any,
    in_thread: bool = True,
    on_cpu: Callable[[float], None] | None = None,
) -> Any:
    """Await an async handler; run a sync one in a worker thread (``in_thread``, the
    default: it may block) or, for a handler that returns at once, on the event loop.

    ``on_cpu`` is given a sync handler's CPU seconds: the CPU clock of the thread it ran
    on, so the work of other threads and processes on the machine is not counted.
    """
    if inspect.iscoroutinefunction(handle):
        return await handle(*args)
    if in_thread:
        result, cpu_s = await asyncio.to_thread(_on_thread_clock, handle, args)
    else:
        result, cpu_s = _on_thread_clock(handle, args)
    if on_cpu is not None:
        on_cpu(cpu_s)
    if inspect.isawaitable(result):
        result = await result
    return result


def _on_thread_clock(handle: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, float]:
    """``handle(*args)`` and the CPU seconds it took on this thread."""
    started = time.thread_time()
    result = handle(*args)
    return result, time.thread_time() - started


class MessagePipeline:
    """Turns one raw message into the records to produce for it; never raises ``Exception``.

    Steps:
    1. decode the bytes (undecodable: DLQ);
    2. run the handler; a component's RetryableError is retried ``max_retries`` times;
    3. encode the outputs, filling envelope fields and headers; a ``Forward`` re-produces
       the message to another partition, a ``Reject`` dead-letters it;
    4. on a handler failure, with a ``failure_stage``: a ``stage_failed`` event (see
       ``failures.py``), plus the DLQ for a contract violation; without one: the DLQ.

    A dependency that is down (registry, broker) is not a failure: every step waits it out
    (``outage.py``), so a valid event never reaches the DLQ because of an outage.
    """

    def __init__(
        self,
        *,
        service_name: str,
        codec: Codec,
        handle: Handler,
        topic_prefix: str,
        retry_policy: RetryPolicy,
        metrics: ServiceMetrics,
        failure_stage: str | None = None,
        sleep: Sleep = asyncio.sleep,
        state: StateHooks | None = None,
        max_record_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        handler_in_thread: bool = True,
        handler_timeout_s: float | None = None,
    ) -> None:
        self.service_name = service_name
        self.handler_timeout_s = handler_timeout_s
        self.codec = codec
        # A runtime_checkable Protocol check costs ~20 µs: once, not per produced event
        self._versioned: VersionedCodec | None = (
            codec if isinstance(codec, VersionedCodec) else None
        )
        self.handle = handle
        self.topic_prefix = topic_prefix
        self.retry_policy = retry_policy
        self.metrics = metrics
        self.failure_stage = failure_stage
        self.sleep = sleep
        self.state = state
        self.max_record_bytes = max_record_bytes
        self.handler_in_thread = handler_in_thread
        self._metrics_by_topic: dict[str, tuple[Any, Any, Any]] = {}
        self.log = structlog.get_logger("impact_runtime").bind(service=service_name)
        self.outages = Outages(retry_policy, metrics, sleep, self.log)

    def topic_for(self, event: str) -> str:
        """The topic an event is produced to."""
        return topic_for(event, self.topic_prefix)

    async def process(self, message: RawMessage) -> list[ProducerRecord]:
        """The records to produce for ``message`` (outputs, DLQ and/or stage_failed)."""
        topic = message.topic
        try:
            incoming = await self._attempt(topic, partial(self.decode, message), codec_down)
        except ContractViolation as exc:
            if not exc.envelope.get("run_id"):
                return [self._dead_letter(message, exc, self._message_log(message))]
            # Decoded far enough to know whose command it is: end it, not only dead-letter.
            incoming = self._as_incoming(message, exc.envelope)
            return await self._failed(message, incoming, exc, self._message_log(message, incoming))
        except Exception as exc:
            return [self._dead_letter(message, exc, self._message_log(message))]
        processed, handler_seconds, handler_cpu = self._topic_metrics(topic)
        try:
            started = time.perf_counter()
            handle = partial(self._handle, incoming, handler_cpu.inc)
            outputs = await self._attempt(topic, handle, dependency_down)
            handler_seconds.observe(time.perf_counter() - started)
            events = [o for o in outputs if not isinstance(o, Forward | Reject)]
            encode = partial(self.encode, events, incoming)
            records = await self._attempt(topic, encode, codec_down)
        except Exception as exc:
            return await self._failed(message, incoming, exc, self._message_log(message, incoming))
        for output in outputs:
            if isinstance(output, Forward):
                records.append(forwarded(message, output.partition))
            elif isinstance(output, Reject):
                log = self._message_log(message, incoming)
                records.append(self._dead_letter(message, ContractViolation(output.reason), log))
        processed.inc()
        self.log.debug(  # a no-op call below DEBUG: the line names who did the work
            "processed",
            topic=topic,
            partition=message.partition,
            offset=message.offset,
            run_id=incoming.value.get("run_id"),
            initiative_id=incoming.value.get("initiative_id"),
            outputs=len(records),
        )
        return records

    def _message_log(self, message: RawMessage, incoming: Incoming | None = None) -> Any:
        """The logger for a message's failure lines (built only when one is logged)."""
        log = self.log.bind(topic=message.topic, partition=message.partition, offset=message.offset)
        if incoming is None:
            return log
        value = incoming.value
        return log.bind(run_id=value.get("run_id"), initiative_id=value.get("initiative_id"))

    def _topic_metrics(self, topic: str) -> tuple[Any, Any, Any]:
        """The processed counter, handler histogram and handler CPU counter of ``topic``
        (labelled once)."""
        found = self._metrics_by_topic.get(topic)
        if found is None:
            metrics = self.metrics
            found = (
                metrics.processed(topic),
                metrics.handler_seconds(topic),
                metrics.handler_cpu_seconds(topic),
            )
            self._metrics_by_topic[topic] = found
        return found

    async def tick(self, tick: Tick, now: float, deliver: Deliver) -> list[ProducerRecord]:
        """Run ``tick`` at ``now`` and deliver its records on their own; return them.

        Tick outputs carry their own ``run_id`` (there is no cause). The handler state is
        committed once they are delivered; if the tick, its encoding or the delivery fails,
        the state rolls back to its last delivered version, so the next tick fires again
        (an expired deadline is never used up by a failed tick). Delivery errors propagate.
        """
        try:
            outputs = await call_handler(tick, now)
            encode = partial(self.encode, outputs or [], None)
            records = coalesce_raw(await self._attempt("tick", encode, codec_down))
        except Exception as exc:
            self.metrics.failed("tick", type(exc).__name__).inc()
            self.log.error("tick_failed", error_type=type(exc).__name__, error=failure_reason(exc))
            self.rolled_back()
            return []
        except BaseException:  # stopping while the registry is down
            self.rolled_back()
            raise
        if records:
            try:
                await deliver(records)
            except BaseException:
                self.rolled_back()
                raise
        self.delivered()
        return records

    def delivered(self) -> None:
        """Everything handled so far is delivered: the handler state may advance."""
        if self.state is not None:
            self.state.commit()

    def rolled_back(self) -> None:
        """What was handled since the last delivery is lost: restore the handler state."""
        if self.state is not None:
            self.state.rollback()

    async def decode(self, message: RawMessage) -> Incoming:
        """Decode a raw message into an Incoming (errors propagate)."""
        if message.value is None:
            raise SchemaMismatch("tombstone (null value) on an event topic")
        value = await self.codec.decode(message.value, message.topic)
        return self._as_incoming(message, value)

    def _as_incoming(self, message: RawMessage, value: dict[str, Any]) -> Incoming:
        return Incoming(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key.decode("utf-8", "replace") if message.key is not None else None,
            event=event_name(message.topic),
            value=value,
            headers={k: v.decode("utf-8", "replace") for k, v in message.headers},
        )

    async def encode(self, outputs: HandlerResult, cause: Incoming | None) -> list[ProducerRecord]:
        """Encode handler or tick outputs into producer records (yielding to the loop
        every ``ENCODE_YIELD_EVERY`` outputs)."""
        records = []
        for n, output in enumerate(outputs, 1):
            if n % ENCODE_YIELD_EVERY == 0:
                await asyncio.sleep(0)
            if isinstance(output, Record):
                value = output.value
                records.append(
                    ProducerRecord(
                        output.topic,
                        output.key.encode(),
                        value,
                        managed=False,
                        partition=output.partition,
                    )
                )
            elif isinstance(output, Outgoing):
                records.append(await self._encode_event(output, cause))
            else:
                raise TypeError(f"handler returned {type(output).__name__}, not Outgoing/Record")
        return records

    async def _encode_event(self, output: Outgoing, cause: Incoming | None) -> ProducerRecord:
        versioned = self._versioned
        version = (
            versioned.schema_version(output.event)
            if versioned is not None
            else schema_version(output.event)
        )
        value = fill_envelope(output, cause, version)
        topic = self.topic_for(output.event)
        data = await self.codec.encode(output.event, value, topic)
        return ProducerRecord(topic, output.key.encode(), data, envelope_headers(value))

    async def _handle(self, incoming: Incoming, on_cpu: Callable[[float], None]) -> HandlerResult:
        limit = asyncio.timeout(self.handler_timeout_s)  # a timer, no task of its own
        try:
            async with limit:
                result = await call_handler(
                    self.handle, incoming, in_thread=self.handler_in_thread, on_cpu=on_cpu
                )
        except TimeoutError:
            if not limit.expired() or self.handler_timeout_s is None:
                raise  # the handler's own TimeoutError
            raise HandlerTimedOut(self.handler_timeout_s) from None
        if result is None:
            return []
        if not isinstance(result, list):
            raise TypeError(f"handler must return a list, got {type(result).__name__}")
        return result

    async def _attempt(
        self, topic: str, action: Callable[[], Awaitable[Any]], is_down: IsDown
    ) -> Any:
        """Wait out outages (no limit); retry other retriable errors ``max_retries`` times."""

        def on_retry(attempt: int, delay: float, exc: BaseException) -> None:
            self.metrics.retried(topic).inc()
            self.log.warning(
                "retrying", topic=topic, attempt=attempt, delay_s=delay, error=str(exc)
            )

        def retry_if(exc: BaseException) -> bool:
            return is_retriable(exc) and is_down(exc) is None

        return await self.outages.wait_out(
            lambda: call_with_retry(action, self.retry_policy, self.sleep, on_retry, retry_if),
            is_down,
        )

    def _dead_letter(self, message: RawMessage, exc: BaseException, log: Any) -> ProducerRecord:
        self.metrics.failed(message.topic, type(exc).__name__).inc()
        self.metrics.dead_lettered(message.topic).inc()
        log.error("dead_lettered", error_type=type(exc).__name__, reason=failure_reason(exc))
        return dead_letter(message, exc, self.service_name, self.max_record_bytes)

    async def _failed(
        self, message: RawMessage, incoming: Incoming, exc: BaseException, log: Any
    ) -> list[ProducerRecord]:
        """A decoded command that could not be completed: end its initiative or run."""
        value = incoming.value
        if self.failure_stage is None or not value.get("run_id"):
            return [self._dead_letter(message, exc, log)]
        payload = stage_failure(self.failure_stage, value, exc)
        log.warning("stage_failed", error_type=payload["error_type"], reason=payload["reason"])
        event = Outgoing(STAGE_FAILED, str(value["run_id"]), payload)
        try:
            encode = partial(self.encode, [event], incoming)
            records = await self._attempt(message.topic, encode, codec_down)
        except Exception as encode_exc:
            return [self._dead_letter(message, encode_exc, log)]
        if dead_letters(exc):
            return [self._dead_letter(message, exc, log), *records]
        self.metrics.failed(message.topic, type(exc).__name__).inc()
        return records


def forwarded(message: RawMessage, partition: int) -> ProducerRecord:
    """``message`` unchanged, to ``partition`` of its topic, marked with where it came from."""
    origin = (FORWARDED_FROM, f"{message.partition}:{message.offset}".encode())
    return ProducerRecord(
        message.topic, message.key, message.value, (*message.headers, origin), partition=partition
    )
