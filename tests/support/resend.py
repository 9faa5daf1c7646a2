"""Records of one run sent again on the topics they were read from, as a faulty producer
or a replay would: duplicates while the run goes on, late copies after it ended."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.waiting import wait_for


class Resender:
    """Reads ``topics`` (committed records, from ``offset_reset``) and sends each distinct
    record of ``run_id`` once more to its topic, with its headers when ``keep_headers``."""

    def __init__(
        self, bootstrap: str, topics: list[str], run_id: str, offset_reset: str, keep_headers: bool
    ) -> None:
        self.consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            auto_offset_reset=offset_reset,
            isolation_level="read_committed",
        )
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        self.key = run_id.encode()
        self.keep_headers = keep_headers
        self.seen: set[bytes | None] = set()
        self.sent = 0

    async def __aenter__(self) -> Resender:
        await self.consumer.start()
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
        await self.producer.stop()

    async def poll(self, timeout_ms: int) -> bool:
        """One fetch; sends the run's records not seen before. Whether anything came."""
        batch = await self.consumer.getmany(timeout_ms=timeout_ms)
        for tp, records in batch.items():
            for record in records:
                if record.key == self.key and record.value not in self.seen:
                    self.seen.add(record.value)
                    headers: Any = list(record.headers) if self.keep_headers else None
                    await self.producer.send_and_wait(
                        tp.topic, record.value, key=record.key, headers=headers
                    )
                    self.sent += 1
        return bool(batch)


async def echo_records(bootstrap: str, topics: list[str], run_id: str) -> int:
    """Re-publish every record of ``run_id`` on ``topics`` once, as soon as it appears, until
    cancelled; how many were sent."""
    async with Resender(bootstrap, topics, run_id, "latest", keep_headers=True) as resender:
        try:
            while True:
                await resender.poll(100)
        except asyncio.CancelledError:
            return resender.sent


async def replay_all(bootstrap: str, topics: list[str], run_id: str) -> int:
    """Re-publish every record of ``run_id`` on ``topics`` from their start (without headers)
    until a fetch brings nothing; how many were sent."""
    async with Resender(bootstrap, topics, run_id, "earliest", keep_headers=False) as resender:
        while await resender.poll(1500):
            pass
    return resender.sent


async def wait_until_consumed(bootstrap: str, group: str, topics: list[str]) -> None:
    """Wait until ``group`` has committed up to the end offsets of ``topics`` (taken now)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        if not partitions:
            await consumer.topics()
            partitions = [
                TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
            ]
        ends = await consumer.end_offsets(partitions)

        async def caught_up() -> bool:
            committed = await admin.list_consumer_group_offsets(group)
            return all(
                committed.get(tp) is not None and committed[tp].offset >= ends[tp]
                for tp in partitions
            )

        await wait_for(caught_up, timeout=60, message=f"{group} did not consume {topics}")
    finally:
        await consumer.stop()
        await admin.close()
