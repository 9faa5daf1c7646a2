"""The shared Kafka fixture gives a broker with working groups and transactions."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from impact_runtime import kafka_config as kafka_settings

from scripts import kafka_config, local_kafka
from tests.support import kafka as kafka_support
from tests.support.kafka import TopicFactory, wait_for

MESSAGES = 100


async def consume_exactly(
    consumer: AIOKafkaConsumer, count: int, timeout: float = 30.0
) -> list[bytes]:
    """Read until ``count`` values arrived (raises TimeoutError otherwise)."""
    values: list[bytes] = []

    async def fetched_enough() -> bool:
        batches = await consumer.getmany(timeout_ms=100)
        for records in batches.values():
            values.extend(record.value for record in records if record.value is not None)
        return len(values) >= count

    await wait_for(fetched_enough, timeout, interval=0, message=f"only {len(values)}/{count}")
    return values


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

    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=kafka_bootstrap,
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
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

    reader = AIOKafkaConsumer(
        sink,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
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

    committed_reader = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap,
        group_id=group_id,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
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


def test_server_properties_single_node_kraft_on_loopback(tmp_path: Path) -> None:
    text = local_kafka.server_properties(9092, 9093, tmp_path)
    settings = dict(line.split("=", 1) for line in text.splitlines())
    assert settings["process.roles"] == "broker,controller"
    assert settings["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert settings["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert settings["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert settings["log.dirs"] == str(tmp_path / "logs")
    assert settings["num.partitions"] == "6"
    assert settings["group.initial.rebalance.delay.ms"] == "0"
    replication = {key: value for key, value in settings.items() if "replication.factor" in key}
    assert replication == {
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "share.coordinator.state.topic.replication.factor": "1",
    }


def test_free_ports_are_distinct() -> None:
    ports = local_kafka.free_ports(4)
    assert len(set(ports)) == 4


def test_status_of_a_dead_broker_is_stopped(tmp_path: Path) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps({"pid": finished.pid, "bootstrap": "127.0.0.1:1"}))
    completed = subprocess.run(
        [
            sys.executable,
            str(kafka_support.LOCAL_KAFKA_SCRIPT),
            "--state-file",
            str(state_file),
            "status",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (completed.returncode, completed.stdout) == (1, "stopped\n")


def _local_kafka(state_file: Path, *args: str) -> str:
    """Run the script; its last stdout line (the bootstrap address for ``start``)."""
    command = [sys.executable, str(kafka_support.LOCAL_KAFKA_SCRIPT), "--state-file"]
    completed = subprocess.run(
        [*command, str(state_file), *args], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else ""


@pytest.mark.integration
async def test_a_broker_restarts_on_its_own_data(tmp_path: Path) -> None:
    """start -> produce -> stop --keep -> start on the same dir: same address, same records."""
    state, data = tmp_path / "state.json", tmp_path / "data"
    start = ["start", "--data-dir", str(data), "--wait", "--owner-pid", str(os.getpid())]
    bootstrap = await asyncio.to_thread(_local_kafka, state, *start)
    topic = f"restart-{uuid.uuid4().hex}"
    try:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for index in range(10):
                await producer.send_and_wait(topic, f"kept-{index}".encode(), partition=0)
        finally:
            await producer.stop()
        await asyncio.to_thread(_local_kafka, state, "stop", "--keep")
        assert (data / "logs" / "meta.properties").is_file()

        assert await asyncio.to_thread(_local_kafka, state, *start) == bootstrap
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            values = await consume_exactly(consumer, 10, timeout=60)
        finally:
            await consumer.stop()
        assert values == [f"kept-{index}".encode() for index in range(10)]
    finally:
        await asyncio.to_thread(_local_kafka, state, "stop")
    assert not data.exists()


def test_broker_size_limits_follow_the_clients_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMPACT_MAX_MESSAGE_BYTES", raising=False)
    assert kafka_config.DEFAULT_MAX_MESSAGE_BYTES == kafka_settings.DEFAULT_MAX_MESSAGE_BYTES
    assert kafka_config.BATCH_HEADROOM_BYTES == kafka_settings.BATCH_HEADROOM_BYTES
    text = local_kafka.server_properties(9092, 9093, tmp_path)
    settings = dict(line.split("=", 1) for line in text.splitlines())
    batch = str(kafka_settings.batch_limit(kafka_settings.DEFAULT_MAX_MESSAGE_BYTES))
    assert settings["message.max.bytes"] == settings["replica.fetch.max.bytes"] == batch
    assert settings["socket.request.max.bytes"] == str(100 * 1024 * 1024)

    monkeypatch.setenv("IMPACT_MAX_MESSAGE_BYTES", str(200 * 1024 * 1024))
    text = local_kafka.server_properties(9092, 9093, tmp_path)
    settings = dict(line.split("=", 1) for line in text.splitlines())
    assert settings["message.max.bytes"] == str(201 * 1024 * 1024)
    assert settings["socket.request.max.bytes"] == str(202 * 1024 * 1024)


def test_formatted_storage_is_recognised_with_its_ports(tmp_path: Path) -> None:
    assert local_kafka.formatted_cluster_id(tmp_path) is None
    assert local_kafka.recorded_ports(tmp_path) is None
    local_kafka.write_config(41001, 41002, tmp_path)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "meta.properties").write_text(
        "#\nnode.id=1\ncluster.id=Aqy1P6mxShmk_vHMbIhejQ\nversion=1\n"
    )
    assert local_kafka.formatted_cluster_id(tmp_path) == "Aqy1P6mxShmk_vHMbIhejQ"
    assert local_kafka.recorded_ports(tmp_path) == (41001, 41002)


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
