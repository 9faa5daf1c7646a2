"""FakeBus: an in-memory stand-in for Kafka that drives a Service's real pipeline, and
FakeTopics: its topics, holding what it produced (``transport.Topics``)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.partitioner import DefaultPartitioner

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


class FakeTopics:
    """``transport.Topics`` in memory: every record a FakeBus produced, per partition in
    produced order (``value`` None: a tombstone; nothing is compacted). A topic has
    ``partitions`` partitions unless ``ensure`` created it with another count; a record
    without a partition goes where Kafka's default partitioner puts its key."""

    def __init__(self, partitions: int = 1) -> None:
        self.default_partitions = partitions
        #: partitions per topic, and the topics created compacted
        self.counts: dict[str, int] = {}
        self.compacted: set[str] = set()
        self.records: dict[TopicPartition, list[RawMessage]] = {}
        self._partitioner = DefaultPartitioner()

    async def ensure(
        self, topics: set[str], *, partitions: int | None = None, compacted: bool = False
    ) -> None:
        for topic in sorted(topics - self.counts.keys()):
            self.counts[topic] = partitions or self.default_partitions
            if compacted:
                self.compacted.add(topic)

    async def partitions(self, topics: list[str]) -> dict[str, int]:
        if missing := sorted(set(topics) - self.counts.keys()):
            raise LookupError(f"FakeBus has no topic {missing}: nothing created or produced it")
        return {topic: self.counts[topic] for topic in topics}

    async def partitions_if_exists(self, topic: str) -> int | None:
        return self.counts.get(topic)

    async def read(
        self, partitions: list[TopicPartition], *, timeout_s: float
    ) -> AsyncGenerator[RawMessage, None]:
        ends = {tp: len(self.records.get(tp, ())) for tp in partitions}
        for tp, end in ends.items():
            for message in self.records.get(tp, [])[:end]:
                yield message

    def append(self, record: ProducerRecord) -> None:
        """Keep a produced ``record`` (its lazy value resolved)."""
        count = self.counts.setdefault(record.topic, self.default_partitions)
        partition = record.partition
        if partition is None:
            every = list(range(count))
            partition = self._partitioner(record.key, every, every)
        value = record.value() if callable(record.value) else record.value
        kept = self.records.setdefault(TopicPartition(record.topic, partition), [])
        message = RawMessage(record.topic, partition, len(kept), record.key, value, record.headers)
        kept.append(message)


class FakeBus:
    """Publish events to a Service's handler without Kafka (like FastStream's TestKafkaBroker).

    ``async with FakeBus(service)`` assigns the service its partitions first, as joining
    the group does on Kafka (its ``assigned`` hook runs; see ``assign``).

    The same pipeline as on Kafka runs: envelope filling, retry with backoff and outage
    waits (sleeps are recorded in ``sleeps``, not slept), DLQ and ``stage_failed`` routing,
    ticks, and the handler state's commit/rollback. The codec is the service's own when
    given, else a JsonCodec.

    What it produces is kept in ``topics`` (a new ``FakeTopics`` with ``partitions`` per
    topic, or the ``topics`` given: a second bus on the same records, as a replica started
    on the same cluster), installed as the service's ``bus_topics``.
    """

    def __init__(
        self,
        service: Service,
        codec: Codec | None = None,
        *,
        topics: FakeTopics | None = None,
        partitions: int = 1,
    ) -> None:
        self.service = service
        self.codec = codec or service.codec or JsonCodec()
        self.sleeps: list[float] = []
        self.produced: list[Produced] = []
        self.topics = topics or FakeTopics(partitions)
        service.bus_topics = self.topics
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
        for record in records:
            self.topics.append(record)
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
