"""What the consume loop needs from a bus, as protocols: ``Transport`` (fetch, deliver,
recover; ``delivery.KafkaClients`` on Kafka) and ``Assignments`` (who is told which
partitions the service owns: the consume loop, from aiokafka's rebalance callbacks or from
``FakeBus``)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from aiokafka import TopicPartition

from impact_runtime.metrics import ServiceMetrics
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
