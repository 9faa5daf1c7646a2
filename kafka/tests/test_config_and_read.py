"""Kafka client options from settings, and reading topics to their end."""

from __future__ import annotations

import os
import ssl
import uuid
from contextlib import aclosing
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from impact_kafka.config import (
    DEFAULT_MAX_MESSAGE_BYTES,
    MIB,
    KafkaClientSettings,
    client_options,
    consumer_options,
    producer_options,
    topic_configs,
)
from impact_kafka.read import read_to_end
from pydantic import SecretStr, ValidationError

from tests.support.kafka import TopicFactory

SASL_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": "broker-1:9093,broker-2:9093",
    "IMPACT_SECURITY_PROTOCOL": "SASL_SSL",
    "IMPACT_SASL_MECHANISM": "SCRAM-SHA-512",
    "IMPACT_SASL_USERNAME": "impact",
    "IMPACT_SASL_PASSWORD": "s3cret",
}


@pytest.fixture
def sasl_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in [n for n in os.environ if n.startswith("IMPACT_")]:
        monkeypatch.delenv(name)
    for name, value in SASL_ENV.items():
        monkeypatch.setenv(name, value)
    return SASL_ENV


def test_plaintext_options_are_bootstrap_client_id_and_protocol() -> None:
    settings = KafkaClientSettings(bootstrap_servers="127.0.0.1:9092", client_id="x")
    assert client_options(settings) == {
        "bootstrap_servers": "127.0.0.1:9092",
        "client_id": "x",
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_ssl_from_the_environment(sasl_env: dict[str, str]) -> None:
    options = client_options(KafkaClientSettings())
    assert isinstance(options.pop("ssl_context"), ssl.SSLContext)
    assert options == {
        "bootstrap_servers": "broker-1:9093,broker-2:9093",
        "client_id": "impact",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "impact",
        "sasl_plain_password": "s3cret",
    }
    assert "s3cret" not in repr(KafkaClientSettings())


CLIENT_CERT = Path(__file__).parent / "data"  # a self-signed test certificate, key "k3y-pass"


def test_mutual_tls_loads_the_client_certificate() -> None:
    settings = KafkaClientSettings(
        bootstrap_servers="b:9093",
        security_protocol="SSL",
        ssl_certfile=str(CLIENT_CERT / "client.crt"),
        ssl_keyfile=str(CLIENT_CERT / "client.key"),
        ssl_key_password="k3y-pass",
    )
    assert isinstance(client_options(settings)["ssl_context"], ssl.SSLContext)
    assert "k3y-pass" not in repr(settings)
    wrong = settings.model_copy(update={"ssl_key_password": SecretStr("wrong")})
    with pytest.raises(ssl.SSLError):  # the key really is read, with its password
        client_options(wrong)


def test_size_options_default_to_gzip_and_64_mib() -> None:
    settings = KafkaClientSettings(bootstrap_servers="b:1")
    assert DEFAULT_MAX_MESSAGE_BYTES == 64 * MIB
    produce, consume = producer_options(settings), consumer_options(settings)
    assert (produce["compression_type"], produce["max_request_size"]) == ("gzip", 64 * MIB)
    assert consume["max_partition_fetch_bytes"] == 65 * MIB
    assert consume["fetch_max_bytes"] == 65 * MIB
    assert topic_configs(settings) == {"max.message.bytes": str(65 * MIB)}


def test_size_settings_read_their_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPACT_MAX_MESSAGE_BYTES", str(2 * MIB))
    monkeypatch.setenv("IMPACT_COMPRESSION_TYPE", "none")
    settings = KafkaClientSettings(bootstrap_servers="b:1")
    produce, consume = producer_options(settings), consumer_options(settings)
    assert (produce["compression_type"], produce["max_request_size"]) == (None, 2 * MIB)
    assert consume["max_partition_fetch_bytes"] == 3 * MIB
    assert consume["fetch_max_bytes"] == 50 * MIB  # never below aiokafka's default


@pytest.mark.parametrize(
    ("name", "value"),
    [("IMPACT_COMPRESSION_TYPE", "brotli"), ("IMPACT_MAX_MESSAGE_BYTES", "1023")],
)
def test_bad_size_settings_are_rejected(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("IMPACT_").lower()):
        KafkaClientSettings(bootstrap_servers="b:1")


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for index, value in enumerate(values):
            await producer.send(topic, value, key=f"k{index}".encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _read_values(settings: KafkaClientSettings, source: list[str]) -> list[bytes]:
    values = []
    async with aclosing(read_to_end(settings, source, timeout_s=60)) as records:
        async for record in records:
            assert record.value is not None
            values.append(record.value)
    return values


@pytest.mark.integration
async def test_read_stops_at_the_end_offsets_taken_when_it_starts(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = await topic_factory("to-end")
    first = [f"first-{i}".encode() for i in range(300)]
    await _produce(kafka_bootstrap, topic, first)
    settings = KafkaClientSettings(bootstrap_servers=kafka_bootstrap)
    read: list[bytes] = []
    async with aclosing(read_to_end(settings, [topic], timeout_s=60)) as records:
        async for record in records:
            assert record.value is not None
            read.append(record.value)
            if len(read) == 1:  # records written during the read are not part of it
                await _produce(kafka_bootstrap, topic, [b"later-1", b"later-2"])
    assert sorted(read) == sorted(first)
    again = await _read_values(settings, [topic])
    assert sorted(again) == sorted([*first, b"later-1", b"later-2"])


@pytest.mark.integration
async def test_missing_topics_are_skipped_and_never_created(
    kafka_bootstrap: str, kafka_admin: AIOKafkaAdminClient
) -> None:
    missing = f"missing-{uuid.uuid4().hex}"
    settings = KafkaClientSettings(bootstrap_servers=kafka_bootstrap)
    assert await _read_values(settings, [missing]) == []
    assert missing not in await kafka_admin.list_topics()


@pytest.mark.integration
async def test_aborted_records_are_skipped_and_the_read_ends(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = await topic_factory("to-end-txn", partitions=1)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, transactional_id=f"t-{uuid.uuid4().hex}"
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, b"committed", partition=0)
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"aborted", partition=0)
        await producer.abort_transaction()
    finally:
        await producer.stop()
    settings = KafkaClientSettings(bootstrap_servers=kafka_bootstrap)
    assert await _read_values(settings, [topic]) == [b"committed"]


@pytest.mark.integration
async def test_the_deadline_raises_timeout(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = await topic_factory("to-end-deadline", partitions=1)
    await _produce(kafka_bootstrap, topic, [b"one"])
    settings = KafkaClientSettings(bootstrap_servers=kafka_bootstrap)
    with pytest.raises(TimeoutError, match="records left per partition"):
        await _read_values_with_timeout(settings, TopicPartition(topic, 0), 0.0)


async def _read_values_with_timeout(
    settings: KafkaClientSettings, partition: TopicPartition, timeout_s: float
) -> list[bytes]:
    async with aclosing(read_to_end(settings, [partition], timeout_s=timeout_s)) as records:
        return [record.value async for record in records if record.value is not None]


@pytest.mark.integration
async def test_a_20_mib_event_flows_with_the_shared_size_options(
    kafka_bootstrap: str, kafka_admin: AIOKafkaAdminClient
) -> None:
    """Produce and read back an event 20 times Kafka's 1 MB default (incompressible, so
    the broker and topic limits are what is tested, not gzip)."""
    settings = KafkaClientSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"big-{uuid.uuid4().hex}"
    await kafka_admin.create_topics([NewTopic(topic, 1, 1, topic_configs=topic_configs(settings))])
    big = os.urandom(20 * MIB)
    producer = AIOKafkaProducer(**producer_options(settings), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, big, key=b"big")
    finally:
        await producer.stop()
    assert await _read_values(settings, [topic]) == [big]
    await kafka_admin.delete_topics([topic])
