"""What the consume loop needs from a bus, as protocols: ``Transport`` (fetch, deliver,
recover; ``delivery.KafkaClients`` on Kafka) and ``Assignments`` (who is told which
partitions the service owns: the consume loop, from aiokafka's rebalance callbacks or from
``FakeBus``); and what a service keeping state in a topic needs from the bus's topics,
``Topics`` (``KafkaTopics`` here, ``fake.FakeTopics`` on FakeBus)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager, aclosing
from typing import Any, Protocol

from aiokafka import TopicPartition
from impact_kafka.read import read_to_end
from impact_kafka.topics import ensure_topics, partitions_if_exists, topic_partitions

from impact_runtime.metrics import ServiceMetrics
from impact_runtime.settings import ServiceSettings
from impact_runtime.structs import ProducerRecord, RawMessage

Offsets = dict[TopicPartition, int]
Batch = dict[TopicPartition, list[RawMessage]]


class Assignments(Protocol):
    """Told when partitions are assigned to the service and revoked from it."""

    async def on_assigned(self, assigned: set[TopicPartition]) -> None: ...

    async def on_revoked(self, revoked: set[TopicPartition]) -> None: ...


class Transport(Protocol):
    """A bus the consume loop reads batches from and delivers them to."""

    exactly_once: bool
    transactional_id: str | None

    async def start(self, inputs: list[str], assignments: Assignments) -> None:
        """Connect and subscribe to ``inputs``; ``assignments`` hears of each rebalance."""

    async def stop(self, *, commit: bool) -> None: ...

    async def ensure(self, topics: set[str]) -> None:
        """Create the topics not created or seen yet."""

    @property
    def generation(self) -> int:
        """The group generation the service is in now."""
        ...

    async def fetch(self, timeout_ms: int, max_records: int) -> Batch: ...

    def keep_polling(self, every_s: float) -> AbstractAsyncContextManager[Any]:
        """Keeps the service in its group while a long batch is handled."""
        ...

    async def deliver(
        self, records: list[ProducerRecord], offsets: Offsets, *, generation: int
    ) -> None:
        """Produce ``records`` and commit ``offsets`` while still in ``generation``."""

    async def resume(self, starts: Offsets, ends: Offsets) -> bool:
        """After a failed delivery: True when the batch did commit after all."""
        ...

    def rewind(self, starts: Offsets) -> None: ...

    async def commit_pending(self) -> None: ...

    def check_departures(self) -> None: ...

    def observe_lag(self, offsets: Offsets, metrics: ServiceMetrics) -> None: ...


class Topics(Protocol):
    """A bus's topics, for a service that keeps its state in one (the orchestrator's
    compacted changelog): create, count partitions, read back."""

    async def ensure(
        self, topics: set[str], *, partitions: int | None = None, compacted: bool = False
    ) -> None:
        """Create the missing ``topics`` with ``partitions`` each (default: the settings'),
        log-compacted when ``compacted``; existing ones are kept as they are."""

    async def partitions(self, topics: list[str]) -> dict[str, int]:
        """The partition count of each of ``topics``, which exist."""
        ...

    async def partitions_if_exists(self, topic: str) -> int | None:
        """The partition count of ``topic``; None when it does not exist."""
        ...

    def read(
        self, partitions: list[TopicPartition], *, timeout_s: float
    ) -> AsyncGenerator[RawMessage, None]:
        """Every record of ``partitions`` (tombstones: ``value`` None), in offset order per
        partition, up to the end taken when the read starts.

        Raises:
            TimeoutError: the end is not reached within ``timeout_s``.
        """
        ...


class KafkaTopics:
    """``Topics`` on Kafka: ``impact_kafka.topics`` and ``impact_kafka.read`` with ``settings``."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings

    async def ensure(
        self, topics: set[str], *, partitions: int | None = None, compacted: bool = False
    ) -> None:
        settings = self.settings
        if partitions is not None:
            settings = settings.model_copy(update={"topic_partitions": partitions})
        configs = {"cleanup.policy": "compact"} if compacted else None
        await ensure_topics(settings, topics, configs=configs)

    async def partitions(self, topics: list[str]) -> dict[str, int]:
        return await topic_partitions(self.settings, topics)

    async def partitions_if_exists(self, topic: str) -> int | None:
        return await partitions_if_exists(self.settings, topic)

    async def read(
        self, partitions: list[TopicPartition], *, timeout_s: float
    ) -> AsyncGenerator[RawMessage, None]:
        records = read_to_end(self.settings, partitions, timeout_s=timeout_s)
        async with aclosing(records):
            async for m in records:
                yield RawMessage(m.topic, m.partition, m.offset, m.key, m.value, tuple(m.headers))
