"""The Kafka side of the CLI and the dashboard: publish a manifest, follow a run, read a
run's events."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from impact_contracts import ConfigError, PermanentError
from impact_kafka.config import (
    MIB,
    KafkaClientSettings,
    batch_limit,
    consumer_options,
    producer_options,
)
from impact_kafka.read import read_to_end
from impact_schemas.catalog import event_for_topic, topic_for
from impact_schemas.codec import AvroCodec
from impact_schemas.events import new_envelope
from impact_schemas.registry.client import RegistryClient

CLIENT_ID = "impact-cli"

#: Every event of a run, in pipeline order, for ``status --lineage``.
RUN_EVENTS = (
    "manifest_submitted",
    "measure_requested",
    "measure_completed",
    "evaluate_requested",
    "evaluate_completed",
    "allocate_requested",
    "allocate_completed",
    "stage_failed",
    "run_status",
    "run_completed",
    "run_command",
)

log = logging.getLogger("impact_observe")


class EventTooLarge(ConfigError):
    """An event above the size limit: one line with its size, the limit and what to do."""


def _size(size: int) -> str:
    """``size`` bytes for people: KiB below a MiB, else MiB, one decimal."""
    return f"{size / 1024:.1f} KiB" if size < MIB else f"{size / MIB:.1f} MiB"


class Bus:
    """Connection details plus a codec; one per CLI command.

    Security (SASL/SSL) and size settings come from the same ``IMPACT_*`` variables as the
    services (``impact_kafka.config.KafkaClientSettings``), unless ``kafka`` is given.
    """

    def __init__(
        self,
        bootstrap: str,
        registry_url: str,
        prefix: str = "impact.",
        *,
        kafka: KafkaClientSettings | None = None,
    ) -> None:
        self.kafka = kafka or KafkaClientSettings(bootstrap_servers=bootstrap, client_id=CLIENT_ID)
        self.bootstrap = self.kafka.bootstrap_servers
        self.prefix = prefix
        self.registry = RegistryClient(registry_url)
        self.codec = AvroCodec(self.registry)

    async def publish_manifest(self, payload: dict[str, Any], run_id: str | None = None) -> str:
        """Publish one ``manifest_submitted`` event keyed by its run id; return the run id.

        Raises:
            EventTooLarge: when the record is above ``max_message_bytes`` (the producer's
                own check, made before connecting) or the broker refuses its size (a topic
                or broker limit below ours).
        """
        run_id = run_id or str(uuid.uuid4())
        value = {**new_envelope(run_id), **payload}
        topic = topic_for("manifest_submitted", self.prefix)
        data = await self.codec.encode("manifest_submitted", value, topic)
        key = run_id.encode()
        headers = [("run_id", key), ("event_id", value["event_id"].encode())]
        limit = self.kafka.max_message_bytes
        if DefaultRecordBatchBuilder.estimate_size_in_bytes(key, data, headers) > limit:
            raise EventTooLarge(
                f"manifest_submitted is {_size(len(data))} (Avro, before compression), above "
                f"the {_size(limit)} limit: split the cohort into smaller manifests, or raise "
                "IMPACT_MAX_MESSAGE_BYTES for the CLI, the services and the broker"
            )
        producer = AIOKafkaProducer(
            **producer_options(self.kafka), enable_idempotence=True, acks="all"
        )
        await producer.start()
        try:
            await producer.send_and_wait(topic, data, key=key, headers=headers)
        except (MessageSizeTooLargeError, RecordTooLargeError) as exc:
            raise EventTooLarge(
                f"the broker refused manifest_submitted ({_size(len(data))} before "
                f"compression, limit {_size(limit)}): {type(exc).__name__}; set "
                f"max.message.bytes on topic {topic} (and message.max.bytes on the broker) "
                f"to at least {batch_limit(limit)}"
            ) from None
        finally:
            await producer.stop()
        return run_id

    async def follow(
        self, run_id: str, events: Iterable[str], *, timeout_s: float | None = None
    ) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
        """Yield ``(event name, value)`` of one run from the start of each topic, live.

        Stops after ``timeout_s`` without raising; the caller decides what that means.
        """
        topics = [topic_for(name, self.prefix) for name in events]
        consumer = AIOKafkaConsumer(
            *topics,
            **consumer_options(self.kafka),
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            isolation_level="read_committed",
            fetch_max_wait_ms=50,
        )
        await consumer.start()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        try:
            while deadline is None or time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        if (item := await self._decode_for(run_id, record)) is not None:
                            yield item
        finally:
            await consumer.stop()

    async def read_run(
        self, run_id: str, events: Iterable[str] = RUN_EVENTS, *, timeout_s: float = 120.0
    ) -> list[tuple[str, dict[str, Any]]]:
        """Every event of one run up to the topics' end offsets taken when the read starts:
        two reads of a finished run return the same events, whatever the load.

        Raises:
            TimeoutError: when the end is not reached within ``timeout_s``.
        """
        topics = [topic_for(name, self.prefix) for name in events]
        found: list[tuple[str, dict[str, Any]]] = []
        async with aclosing(read_to_end(self.kafka, topics, timeout_s=timeout_s)) as records:
            async for record in records:
                if (item := await self._decode_for(run_id, record)) is not None:
                    found.append(item)
        return found

    async def _decode_for(
        self, run_id: str, record: ConsumerRecord[bytes, bytes]
    ) -> tuple[str, dict[str, Any]] | None:
        """``(event name, value)`` of a record keyed by ``run_id`` (or ``run_id:...``)."""
        if record.key is None or record.value is None:
            return None
        if record.key.split(b":")[0] != run_id.encode():
            return None
        try:
            value = await self.codec.decode(record.value, record.topic)
        except PermanentError as exc:  # poison: the services dead-letter it; readers go on
            log.warning(
                "undecodable record skipped: %s[%d]@%d: %s",
                record.topic,
                record.partition,
                record.offset,
                str(exc)[:300],
            )
            return None
        return event_for_topic(record.topic).name, value

    async def close(self) -> None:
        await self.registry.aclose()
