"""The shared Kafka fixture gives a broker with working groups and transactions."""

from __future__ import annotations

import os
import socket
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from impact_kafka import config as kafka_settings

from tests.support import kafka as kafka_support
from tests.support.kafka import TopicFactory, wait_for
from tests.support.kafka_clients import committed_consumer, consume_exactly

MESSAGES = 100


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    """Send every ``(key, value)`` with ``acks=all`` and wait until all are written."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


@pytest.mark.integration
async def test_produce_and_consume_hundred_messages(
    kafka_bootstrap: str, new_topic: str, group_id: str
) -> None:
    records = [(b"one-key", f"message-{index}".encode()) for index in range(MESSAGES)]
    await produce(kafka_bootstrap, new_topic, records)

    consumer = AIOKafkaConsumer(
        new_topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group_id,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        values = await consume_exactly(consumer, MESSAGES)
        extra = await consumer.getmany(timeout_ms=200)
    finally:
        await consumer.stop()

    # One key means one partition, so order is preserved exactly.
    assert values == [f"message-{index}".encode() for index in range(MESSAGES)]
    assert sum(len(records) for records in extra.values()) == 0


@pytest.mark.integration
async def test_consume_transform_produce_in_transactions(
    kafka_bootstrap: str, topic_factory: TopicFactory, group_id: str
) -> None:
    source = await topic_factory("source")
    sink = await topic_factory("sink")
    numbers = [str(number).encode() for number in range(MESSAGES)]
    await produce(kafka_bootstrap, source, [(number, number) for number in numbers])

    consumer = committed_consumer(
        kafka_bootstrap, source, group_id=group_id, enable_auto_commit=False
    )
    transformer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, transactional_id=f"transform-{uuid.uuid4().hex}"
    )
    await consumer.start()
    await transformer.start()
    transformed = 0
    try:

        async def transform_one_batch() -> bool:
            nonlocal transformed
            batches = await consumer.getmany(timeout_ms=100)
            if not batches:
                return transformed >= MESSAGES
            async with transformer.transaction():
                offsets = {}
                for partition, records in batches.items():
                    for record in records:
                        assert record.value is not None
                        squared = int(record.value) ** 2
                        await transformer.send(sink, str(squared).encode(), key=record.key)
                        transformed += 1
                    offsets[partition] = records[-1].offset + 1
                await transformer.send_offsets_to_transaction(offsets, group_id)
            return transformed >= MESSAGES

        await wait_for(transform_one_batch, 30, interval=0, message="transform did not finish")
        partitions = consumer.assignment()

        async def committed_total() -> int:
            # Commit markers reach __consumer_offsets asynchronously after EndTxn returns.
            total = sum([await consumer.committed(partition) or 0 for partition in partitions])
            return total if total == MESSAGES else 0

        committed = await wait_for(committed_total, 10, message="offsets not committed")
    finally:
        await transformer.stop()
        await consumer.stop()

    assert transformed == MESSAGES
    assert committed == MESSAGES
    assert len(partitions) == 6

    reader = committed_consumer(kafka_bootstrap, sink, group_id=f"reader-{uuid.uuid4().hex}")
    await reader.start()
    try:
        values = await consume_exactly(reader, MESSAGES)
    finally:
        await reader.stop()
    assert sorted(int(value) for value in values) == [n * n for n in range(MESSAGES)]


@pytest.mark.integration
async def test_aborted_transaction_is_invisible_to_read_committed(
    kafka_bootstrap: str, new_topic: str, group_id: str
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, transactional_id=f"abort-{uuid.uuid4().hex}"
    )
    await producer.start()
    try:
        await producer.begin_transaction()
        for index in range(10):
            await producer.send(new_topic, f"aborted-{index}".encode(), partition=0)
        await producer.abort_transaction()
        async with producer.transaction():
            for index in range(5):
                await producer.send(new_topic, f"committed-{index}".encode(), partition=0)
    finally:
        await producer.stop()

    committed_reader = committed_consumer(kafka_bootstrap, group_id=group_id)
    committed_reader.assign([TopicPartition(new_topic, 0)])
    await committed_reader.start()
    try:
        values = await consume_exactly(committed_reader, 5)
        end = await committed_reader.end_offsets([TopicPartition(new_topic, 0)])
        extra = await committed_reader.getmany(timeout_ms=300)
    finally:
        await committed_reader.stop()

    assert values == [f"committed-{index}".encode() for index in range(5)]
    assert sum(len(records) for records in extra.values()) == 0
    # 10 aborted + 1 abort marker + 5 committed + 1 commit marker occupy the log.
    assert end[TopicPartition(new_topic, 0)] == 17


def test_unused_port_is_bindable(unused_port: int) -> None:
    for port in (unused_port, kafka_support.unused_port()):
        assert 1024 <= port <= 65535
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


async def test_wait_for_returns_value_and_times_out() -> None:
    calls: list[int] = []

    def third_call_succeeds() -> int:
        calls.append(1)
        return len(calls) if len(calls) >= 3 else 0

    async def never() -> bool:
        return False

    assert await wait_for(third_call_succeeds, timeout=5, interval=0) == 3
    with pytest.raises(TimeoutError, match="never true"):
        await wait_for(never, timeout=0.1, interval=0.01, message="never true")


@pytest.mark.integration
async def test_an_auto_created_topic_takes_a_5_mib_incompressible_event(
    kafka_bootstrap: str,
) -> None:
    """The broker's own limit (not a topic config) lets a batch above 1 MB in."""
    topic = f"auto-big-{uuid.uuid4().hex}"
    big = os.urandom(5 * 1024 * 1024)
    settings = kafka_settings.KafkaClientSettings(bootstrap_servers=kafka_bootstrap)
    producer = AIOKafkaProducer(**kafka_settings.producer_options(settings), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, big, key=b"big")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        **kafka_settings.consumer_options(settings),
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        assert await consume_exactly(consumer, 1, timeout=60) == [big]
    finally:
        await consumer.stop()
