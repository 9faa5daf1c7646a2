"""One message through the service: decode, handle, encode, and route every failure."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from impact_contracts import ConfigError, ContractViolation, PermanentError, SchemaMismatch
from impact_schemas.catalog import event_for_topic, topic_for
from impact_schemas.events import schema_version

from impact_runtime.codec import Codec, VersionedCodec
from impact_runtime.dlq import dead_letter, failure_reason
from impact_runtime.envelope import envelope_headers, fill_envelope
from impact_runtime.metrics import ServiceMetrics
from impact_runtime.retry import RetryPolicy, Sleep, call_with_retry
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
)

STAGE_FAILED = "stage_failed"
FORWARDED_FROM = "forwarded_from"  # header a Forward adds: "<partition>:<offset>" it came from


def is_stage_failure(exc: BaseException) -> bool:
    """A handler error on a valid event that becomes ``stage_failed`` (not DLQ)."""
    if isinstance(exc, SchemaMismatch | ContractViolation):
        return False
    return isinstance(exc, PermanentError | ConfigError)


def event_name(topic: str) -> str:
    """The catalog event name a topic carries (ConfigError for unknown topics)."""
    spec = event_for_topic(topic)
    return spec if isinstance(spec, str) else str(spec.name)


async def call_handler(handle: Callable[..., Any], *args: Any) -> Any:
    """Await an async handler; run a sync one in a worker thread."""
    if inspect.iscoroutinefunction(handle):
        return await handle(*args)
    result = await asyncio.to_thread(handle, *args)
    if inspect.isawaitable(result):
        result = await result
    return result


class MessagePipeline:
    """Turns one raw message into the records to produce for it; never raises ``Exception``.

    Steps:
    1. decode the bytes (any error, after retrying RetryableError: DLQ);
    2. run the handler, retrying RetryableError with backoff;
    3. encode the outputs, filling envelope fields and headers; a ``Forward`` re-produces
       the message to another partition, a ``Reject`` dead-letters it;
    4. on a handler failure: ``stage_failed`` for a PermanentError/ConfigError when a
       ``failure_stage`` is set, else (and for anything unexpected) the DLQ.
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
    ) -> None:
        self.service_name = service_name
        self.codec = codec
        self.handle = handle
        self.topic_prefix = topic_prefix
        self.retry_policy = retry_policy
        self.metrics = metrics
        self.failure_stage = failure_stage
        self.sleep = sleep
        self.log = structlog.get_logger("impact_runtime").bind(service=service_name)

    def topic_for(self, event: str) -> str:
        """The topic an event is produced to."""
        return topic_for(event, self.topic_prefix)

    async def process(self, message: RawMessage) -> list[ProducerRecord]:
        """The records to produce for ``message`` (outputs, a DLQ record or stage_failed)."""
        log = self.log.bind(topic=message.topic, partition=message.partition, offset=message.offset)
        try:
            incoming = await self._retrying(message.topic, lambda: self.decode(message))
        except Exception as exc:
            return [self._dead_letter(message, exc, log)]
        log = log.bind(
            run_id=incoming.value.get("run_id"), initiative_id=incoming.value.get("initiative_id")
        )
        try:
            started = time.perf_counter()
            outputs = await self._retrying(message.topic, lambda: self._handle(incoming))
            self.metrics.handler_seconds(message.topic).observe(time.perf_counter() - started)
            events = [o for o in outputs if not isinstance(o, Forward | Reject)]
            records = await self._retrying(message.topic, lambda: self.encode(events, incoming))
        except Exception as exc:
            if self.failure_stage is not None and is_stage_failure(exc):
                return await self._stage_failed(message, incoming, exc, log)
            return [self._dead_letter(message, exc, log)]
        for output in outputs:
            if isinstance(output, Forward):
                records.append(forwarded(message, output.partition))
            elif isinstance(output, Reject):
                records.append(self._dead_letter(message, ContractViolation(output.reason), log))
        self.metrics.processed(message.topic).inc()
        log.debug("processed", outputs=len(records))
        return records

    async def decode(self, message: RawMessage) -> Incoming:
        """Decode a raw message into an Incoming (errors propagate)."""
        if message.value is None:
            raise SchemaMismatch("tombstone (null value) on an event topic")
        value = await self.codec.decode(message.value, message.topic)
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
        """Encode handler or tick outputs into producer records."""
        records = []
        for output in outputs:
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
        version = (
            self.codec.schema_version(output.event)
            if isinstance(self.codec, VersionedCodec)
            else schema_version(output.event)
        )
        value = fill_envelope(output, cause, version)
        topic = self.topic_for(output.event)
        data = await self.codec.encode(output.event, value, topic)
        return ProducerRecord(topic, output.key.encode(), data, envelope_headers(value))

    async def _handle(self, incoming: Incoming) -> HandlerResult:
        result = await call_handler(self.handle, incoming)
        if result is None:
            return []
        if not isinstance(result, list):
            raise TypeError(f"handler must return a list, got {type(result).__name__}")
        return result

    async def _retrying(self, topic: str, action: Callable[[], Awaitable[Any]]) -> Any:
        def on_retry(attempt: int, delay: float, exc: BaseException) -> None:
            self.metrics.retried(topic).inc()
            self.log.warning(
                "retrying", topic=topic, attempt=attempt, delay_s=delay, error=str(exc)
            )

        return await call_with_retry(action, self.retry_policy, self.sleep, on_retry)

    def _dead_letter(self, message: RawMessage, exc: BaseException, log: Any) -> ProducerRecord:
        self.metrics.failed(message.topic, type(exc).__name__).inc()
        self.metrics.dead_lettered(message.topic).inc()
        log.error("dead_lettered", error_type=type(exc).__name__, reason=failure_reason(exc))
        return dead_letter(message, exc, self.service_name)

    async def _stage_failed(
        self, message: RawMessage, incoming: Incoming, exc: BaseException, log: Any
    ) -> list[ProducerRecord]:
        self.metrics.failed(message.topic, type(exc).__name__).inc()
        log.warning("stage_failed", error_type=type(exc).__name__, reason=str(exc))
        value = incoming.value
        event = Outgoing(
            event=STAGE_FAILED,
            key=str(value.get("run_id") or incoming.key or ""),
            value={
                "stage": self.failure_stage,
                "initiative_id": value.get("initiative_id"),
                "phase": value.get("phase"),
                "reason": str(exc),
                "error_type": type(exc).__name__,
            },
        )
        try:
            return await self._retrying(message.topic, lambda: self.encode([event], incoming))
        except Exception as encode_exc:
            return [self._dead_letter(message, encode_exc, log)]


def forwarded(message: RawMessage, partition: int) -> ProducerRecord:
    """``message`` unchanged, to ``partition`` of its topic, marked with where it came from."""
    origin = (FORWARDED_FROM, f"{message.partition}:{message.offset}".encode())
    return ProducerRecord(
        message.topic, message.key, message.value, (*message.headers, origin), partition=partition
    )
