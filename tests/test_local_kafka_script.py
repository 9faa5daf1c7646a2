"""``scripts/local_kafka.py``: the broker config it writes, its state file, and a broker
restarted on its own data."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from impact_kafka import config as kafka_settings

from scripts import kafka_config, local_kafka
from tests.support.kafka import LOCAL_KAFKA_SCRIPT, run_local_kafka
from tests.support.kafka_clients import consume_exactly


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
            str(LOCAL_KAFKA_SCRIPT),
            "--state-file",
            str(state_file),
            "status",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (completed.returncode, completed.stdout) == (1, "stopped\n")


@pytest.mark.integration
async def test_a_broker_restarts_on_its_own_data(tmp_path: Path) -> None:
    """start -> produce -> stop --keep -> start on the same dir: same address, same records."""
    state, data = tmp_path / "state.json", tmp_path / "data"
    start = ["start", "--data-dir", str(data), "--wait", "--owner-pid", str(os.getpid())]
    bootstrap = await asyncio.to_thread(run_local_kafka, state, *start)
    topic = f"restart-{uuid.uuid4().hex}"
    try:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for index in range(10):
                await producer.send_and_wait(topic, f"kept-{index}".encode(), partition=0)
        finally:
            await producer.stop()
        await asyncio.to_thread(run_local_kafka, state, "stop", "--keep")
        assert (data / "logs" / "meta.properties").is_file()

        assert await asyncio.to_thread(run_local_kafka, state, *start) == bootstrap
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
        await asyncio.to_thread(run_local_kafka, state, "stop")
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
