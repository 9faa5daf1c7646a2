"""FakeBus: an in-memory stand-in for Kafka that drives a Service's real pipeline."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition

from impact_runtime.codec import Codec, JsonCodec
from impact_runtime.dlq import DLQ_SUFFIX
from impact_runtime.encoding import event_name
from impact_runtime.envelope import envelope_headers, fill_envelope
from impact_runtime.pipeline import MessagePipeline
from impact_runtime.service import Service
from impact_runtime.structs import Outgoing, ProducerRecord, RawMessage, coalesce_raw


@dataclass(frozen=True)
class Produced:
    """A record the service produced; ``value`` is decoded for event topics."""

    topic: str
    key: str | None
    value: Any
    headers: dict[str, str] = field(default_factory=dict)
    event: str | None = None


class FakeBus:
    """Publish events to a Service's handler without Kafka (like FastStream's TestKafkaBroker).

    ``async with FakeBus(service)`` assigns the service its partitions first, as joining
    the group does on Kafka (its ``assigned`` hook runs; see ``assign``).

    The same pipeline as on Kafka runs: envelope filling, retry with backoff and outage
    waits (sleeps are recorded in ``sleeps``, not slept), DLQ and ``stage_failed`` routing,
    ticks, and the handler state's commit/rollback. The codec is the service's own when
    given, else a JsonCodec.
    """

    def __init__(self, service: Service, codec: Codec | None = None) -> None:
        self.service = service
        self.codec = codec or service.codec or JsonCodec()
        self.sleeps: list[float] = []
        self.produced: list[Produced] = []
        self.pipeline: MessagePipeline = service.build_pipeline(self.codec, self._sleep)
        self._offsets = itertools.count()

    async def __aenter__(self) -> FakeBus:
        """Assign the service its partitions (``assign``), as joining the group does."""
        await self.assign()
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def assign(self, partitions: set[TopicPartition] | None = None) -> None:
        """Assign ``partitions`` (default: partition 0 of every input) as the group
        coordinator does on Kafka: the service's ``assigned`` hook runs, then it is ready."""
        if partitions is None:
            partitions = {TopicPartition(topic, 0) for topic in self.service.input_topics()}
        await self.service.take_assignment(partitions)

    async def _sleep(self, delay: float) -> None:
        self.sleeps.append(delay)

    async def publish(
        self, event: str, value: dict[str, Any], key: str | None = None
    ) -> list[Produced]:
        """Encode ``event`` as a producer would and handle it; return what was produced."""
        outgoing = Outgoing(event, key or str(value.get("run_id", "")), value)
        filled = fill_envelope(outgoing, None, None)
        topic = self.pipeline.wire.topic_for(event)
        data = await self.codec.encode(event, filled, topic)
        return await self.publish_raw(topic, data, outgoing.key, dict(envelope_headers(filled)))

    async def publish_raw(
        self,
        topic: str,
        data: bytes | None,
        key: str | bytes | None = None,
        headers: dict[str, bytes] | None = None,
    ) -> list[Produced]:
        """Handle raw bytes read from ``topic`` (e.g. poison); return what was produced."""
        raw_key = key.encode() if isinstance(key, str) else key
        message = RawMessage(
            topic, 0, next(self._offsets), raw_key, data, tuple((headers or {}).items())
        )
        produced = await self._deliver(coalesce_raw(await self.pipeline.process(message)))
        self.pipeline.delivered()
        return produced

    async def tick(self, now: float) -> list[Produced]:
        """Run the service's ``tick`` once at ``now``, as Service does; return what was
        produced (nothing when the tick failed: its state was rolled back)."""
        if self.service.tick is None:
            return []
        before = len(self.produced)
        await self.pipeline.tick(self.service.tick, now, self._deliver)
        return self.produced[before:]

    @property
    def dlq(self) -> list[Produced]:
        """Everything sent to a dead-letter topic."""
        return [p for p in self.produced if p.topic.endswith(DLQ_SUFFIX)]

    def events(self, event: str) -> list[dict[str, Any]]:
        """Decoded values of every produced ``event``."""
        return [p.value for p in self.produced if p.event == event]

    async def _deliver(self, records: list[ProducerRecord]) -> list[Produced]:
        produced = [await self._decode(r) for r in records]
        self.produced.extend(produced)
        self.service.metrics.batches_delivered.inc()  # one message, one batch
        return produced

    async def _decode(self, record: ProducerRecord) -> Produced:
        headers = {k: v.decode("utf-8", "replace") for k, v in record.headers}
        key = record.key.decode() if record.key is not None else None
        raw = not record.managed or record.topic.endswith(DLQ_SUFFIX)
        if raw or not isinstance(record.value, bytes):
            return Produced(record.topic, key, record.value, headers)
        value = await self.codec.decode(record.value, record.topic)
        return Produced(record.topic, key, value, headers, event_name(record.topic))
