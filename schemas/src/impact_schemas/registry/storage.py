"""Where the registry keeps its state: a compacted Kafka topic (or memory, for tests).

Only one server instance may write to a topic: ids are allocated from the state this
instance read at startup plus its own writes, with no fencing between writers.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from impact_schemas.registry.state import Record


class SchemaLog(Protocol):
    """The durable, ordered log of registry records."""

    async def start(self) -> list[Record]:
        """Connect and return every record written so far, in order."""
        ...

    async def append(self, key: dict[str, Any], value: dict[str, Any] | None) -> None:
        """Durably write one record; return only once it is acknowledged."""
        ...

    async def stop(self) -> None: ...


class MemorySchemaLog:
    """A log in a Python list: the same server logic without a broker (unit tests)."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    async def start(self) -> list[Record]:
        return list(self.records)

    async def append(self, key: dict[str, Any], value: dict[str, Any] | None) -> None:
        self.records.append((key, value))

    async def stop(self) -> None:
        return None


def _dumps(obj: dict[str, Any] | None) -> bytes | None:
    return None if obj is None else json.dumps(obj, sort_keys=True).encode()


class KafkaSchemaLog:
    """Registry records in a compacted, single-partition Kafka topic (``_schemas``).

    ``start`` creates the topic if needed (``cleanup.policy=compact``, 1 partition) and
    reads it to its end; ``append`` produces with ``acks=all`` and waits for the ack.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str = "_schemas",
        *,
        replication_factor: int = 1,
        timeout_s: float = 60.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.replication_factor = replication_factor
        self.timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> list[Record]:
        await self._create_topic()
        records = await self._read_to_end()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True
        )
        await self._producer.start()
        return records

    async def _create_topic(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            topic = NewTopic(
                self.topic,
                num_partitions=1,
                replication_factor=self.replication_factor,
                topic_configs={"cleanup.policy": "compact"},
            )
            await admin.create_topics([topic])
        except TopicAlreadyExistsError:
            pass
        finally:
            await admin.close()

    async def _read_to_end(self) -> list[Record]:
        """Step 1: assign partition 0; step 2: find its end; step 3: read up to it."""
        partition = TopicPartition(self.topic, 0)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        records: list[Record] = []
        try:
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            end = await self._end_offset(consumer, partition)
            deadline = time.monotonic() + self.timeout_s
            while await consumer.position(partition) < end:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"reading {self.topic} to offset {end} timed out")
                batch = await consumer.getmany(partition, timeout_ms=1000)
                for message in batch.get(partition, []):
                    if message.key is None:
                        continue
                    value = None if message.value is None else json.loads(message.value)
                    records.append((json.loads(message.key), value))
        finally:
            await consumer.stop()
        return records

    async def _end_offset(self, consumer: AIOKafkaConsumer, partition: TopicPartition) -> int:
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                offsets = await consumer.end_offsets([partition])
                return int(offsets[partition])
            except KafkaError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)  # new topic: leader not elected yet

    async def append(self, key: dict[str, Any], value: dict[str, Any] | None) -> None:
        if self._producer is None:
            raise RuntimeError("KafkaSchemaLog.append() before start()")
        await self._producer.send_and_wait(
            self.topic, key=_dumps(key), value=_dumps(value), partition=0
        )

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
