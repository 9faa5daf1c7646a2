"""Where the registry keeps its state: a compacted Kafka topic (or memory, for tests).

Only one server instance may write to a topic: ids are allocated from the state this
instance read at startup plus its own writes, with no fencing between writers.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from impact_schemas.kafka import (
    KafkaClientConfig,
    client_options,
    producer_options,
    read_to_end,
    topic_configs,
)
from impact_schemas.registry.state import Record
from impact_schemas.replication import topic_replication

#: The registry's own replication settings (``__main__``), named in errors (decision 0061).
SETTING_NAMES = ("IMPACT_REGISTRY_REPLICATION_FACTOR", "IMPACT_REGISTRY_MIN_INSYNC_REPLICAS")


class SchemaLog(Protocol):
    """The durable, ordered log of registry records."""

    async def start(self) -> list[Record]:
        """Connect and return every record written so far, in order."""
        ...

    async def append(self, records: list[Record]) -> None:
        """Durably write ``records`` in order; return only once all are acknowledged."""
        ...

    async def stop(self) -> None: ...


class MemorySchemaLog:
    """A log in a Python list: the same server logic without a broker (unit tests)."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    async def start(self) -> list[Record]:
        return list(self.records)

    async def append(self, records: list[Record]) -> None:
        self.records.extend(records)

    async def stop(self) -> None:
        return None


def _dumps(obj: dict[str, Any] | None) -> bytes | None:
    return None if obj is None else json.dumps(obj, sort_keys=True).encode()


class KafkaSchemaLog:
    """Registry records in a compacted, single-partition Kafka topic (``_schemas``).

    ``start`` creates the topic if needed (``cleanup.policy=compact``, 1 partition) and
    reads it to its end; ``append`` produces with ``acks=all`` and waits for the ack.
    Connection options (SASL, SSL) and sizes come from ``kafka`` exactly as in the runtime.
    """

    def __init__(
        self,
        kafka: KafkaClientConfig,
        topic: str = "_schemas",
        *,
        replication_factor: int | str = "auto",
        min_insync_replicas: int | str = "auto",
        timeout_s: float = 60.0,
    ) -> None:
        self.kafka = kafka
        self.topic = topic
        self.replication_factor = replication_factor
        self.min_insync_replicas = min_insync_replicas
        self.timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> list[Record]:
        await self._create_topic()
        records = await self._read_to_end()
        self._producer = AIOKafkaProducer(
            **producer_options(self.kafka), acks="all", enable_idempotence=True
        )
        await self._producer.start()
        return records

    async def _create_topic(self) -> None:
        admin = AIOKafkaAdminClient(**client_options(self.kafka))
        await admin.start()
        try:
            replicas, replication = await topic_replication(
                admin, self.replication_factor, self.min_insync_replicas, SETTING_NAMES
            )
            topic = NewTopic(
                self.topic,
                num_partitions=1,
                replication_factor=replicas,
                topic_configs={
                    **topic_configs(self.kafka),
                    **replication,
                    "cleanup.policy": "compact",
                },
            )
            await admin.create_topics([topic])
        except TopicAlreadyExistsError:
            pass
        finally:
            await admin.close()

    async def _read_to_end(self) -> list[Record]:
        source = [TopicPartition(self.topic, 0)]
        records: list[Record] = []
        async with aclosing(read_to_end(self.kafka, source, timeout_s=self.timeout_s)) as log:
            async for message in log:
                if message.key is None:
                    continue
                value = None if message.value is None else json.loads(message.value)
                records.append((json.loads(message.key), value))
        return records

    async def append(self, records: list[Record]) -> None:
        """Send every record, then wait for all acks: one round trip for a registration's
        ``ID`` and version records (the idempotent producer keeps their order)."""
        if self._producer is None:
            raise RuntimeError("KafkaSchemaLog.append() before start()")
        sent = [
            await self._producer.send(self.topic, key=_dumps(k), value=_dumps(v), partition=0)
            for k, v in records
        ]
        await asyncio.gather(*sent)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
