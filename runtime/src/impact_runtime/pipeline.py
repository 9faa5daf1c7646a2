"""One message (or one tick) through the service: decode, handle, encode, route failures.

Shared by ``Service`` (Kafka) and ``FakeBus`` (memory), so both behave the same.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import structlog
from impact_contracts import ContractViolation
from impact_kafka.config import DEFAULT_MAX_MESSAGE_BYTES

from impact_runtime.calls import call_handler
from impact_runtime.codec import Codec
from impact_runtime.dlq import dead_letter
from impact_runtime.encoding import MessageSource, Wire, as_incoming, directive_records
from impact_runtime.failures import HandlerTimedOut, dead_letters, failure_reason
from impact_runtime.metrics import ServiceMetrics
from impact_runtime.outage import Outages, codec_down, dependency_down
from impact_runtime.retry import RetryPolicy, Sleep, call_with_retry, is_retriable
from impact_runtime.structs import (
    Handler,
    HandlerResult,
    Incoming,
    Outgoing,
    ProducerRecord,
    RawMessage,
    StateHooks,
    Tick,
    coalesce_raw,
)

__all__ = ["FailureEvent", "MessagePipeline"]

Deliver = Callable[[list[ProducerRecord]], Awaitable[object]]
IsDown = Callable[[BaseException], str | None]
#: The event that ends a decoded command its handler could not complete (its value, the
#: error); e.g. ``stage.stage_failed_event``.
FailureEvent = Callable[[dict[str, Any], BaseException], Outgoing]


class MessagePipeline:
    """Turns one raw message into the records to produce for it; never raises ``Exception``.

    Steps:
    1. decode the bytes (undecodable: DLQ);
    2. run the handler; a component's RetryableError is retried ``max_retries`` times;
    3. encode the outputs, filling envelope fields and headers (``encoding.py``); a
       ``Directive`` output makes its own records (e.g. a raw record, or a dead letter);
    4. on a handler failure, with a ``failure_event``: that event (e.g. ``stage_failed``),
       plus the DLQ for a contract violation (``failures.py``); without one: the DLQ.

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
        failure_event: FailureEvent | None = None,
        sleep: Sleep = asyncio.sleep,
        state: StateHooks | None = None,
        max_record_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        handler_in_thread: bool = True,
        handler_timeout_s: float | None = None,
    ) -> None:
        self.service_name = service_name
        self.handler_timeout_s = handler_timeout_s
        self.wire = Wire(codec, topic_prefix)
        self.handle = handle
        self.topic_prefix = topic_prefix
        self.retry_policy = retry_policy
        self.metrics = metrics
        self.failure_event = failure_event
        self.sleep = sleep
        self.state = state
        self.max_record_bytes = max_record_bytes
        self.handler_in_thread = handler_in_thread
        self._metrics_by_topic: dict[str, tuple[Any, Any, Any]] = {}
        self.log = structlog.get_logger("impact_runtime").bind(service=service_name)
        self.outages = Outages(retry_policy, metrics, sleep, self.log)

    async def process(self, message: RawMessage) -> list[ProducerRecord]:
        """The records to produce for ``message`` (outputs, DLQ and/or stage_failed)."""
        topic = message.topic
        try:
            incoming = await self._attempt(topic, partial(self.wire.decode, message), codec_down)
        except ContractViolation as exc:
            if not exc.envelope.get("run_id"):
                return [self._dead_letter(message, exc, self._message_log(message))]
            # Decoded far enough to know whose command it is: end it, not only dead-letter.
            incoming = as_incoming(message, exc.envelope)
            return await self._failed(message, incoming, exc, self._message_log(message, incoming))
        except Exception as exc:
            return [self._dead_letter(message, exc, self._message_log(message))]
        processed, handler_seconds, handler_cpu = self._topic_metrics(topic)
        try:
            started = time.perf_counter()
            handle = partial(self._handle, incoming, handler_cpu.inc)
            outputs = await self._attempt(topic, handle, dependency_down)
            handler_seconds.observe(time.perf_counter() - started)
            encode = partial(self.wire.encode, outputs, incoming)
            records = await self._attempt(topic, encode, codec_down)
            source = MessageSource(message, partial(self._rejected, incoming))
            records.extend(directive_records(outputs, source))
        except Exception as exc:
            return await self._failed(message, incoming, exc, self._message_log(message, incoming))
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
            outputs = outputs or []
            encode = partial(self.wire.encode, outputs, None)
            records = await self._attempt("tick", encode, codec_down)
            records.extend(directive_records(outputs, MessageSource(None)))
            records = coalesce_raw(records)
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

    def _rejected(
        self, incoming: Incoming, message: RawMessage, exc: BaseException
    ) -> ProducerRecord:
        return self._dead_letter(message, exc, self._message_log(message, incoming))

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
        if self.failure_event is None or not value.get("run_id"):
            return [self._dead_letter(message, exc, log)]
        event = self.failure_event(value, exc)
        reason = event.value.get("reason", failure_reason(exc))
        log.warning(event.event, error_type=type(exc).__name__, reason=reason)
        try:
            encode = partial(self.wire.encode, [event], incoming)
            records = await self._attempt(message.topic, encode, codec_down)
        except Exception as encode_exc:
            return [self._dead_letter(message, encode_exc, log)]
        if dead_letters(exc):
            return [self._dead_letter(message, exc, log), *records]
        self.metrics.failed(message.topic, type(exc).__name__).inc()
        return records
