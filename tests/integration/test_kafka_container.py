"""With a Docker engine, the session's broker is a testcontainers Kafka container on the
host network: every test of the suite then talks to it over 127.0.0.1."""

from __future__ import annotations

import os
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.support import kafka_container
from tests.support.docker import require_docker, unavailable
from tests.support.kafka import (
    DEFAULT_TEST_IMAGE,
    ContainerBroker,
    KafkaBroker,
    _leaders_elected,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def container_broker(request: pytest.FixtureRequest) -> ContainerBroker:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("IMPACT_TEST_KAFKA") == "jars":
        pytest.skip("the session broker is given (KAFKA_BOOTSTRAP_SERVERS / IMPACT_TEST_KAFKA)")
    require_docker()
    image = os.environ.get("KAFKA_TEST_IMAGE", DEFAULT_TEST_IMAGE)
    if not kafka_container.image_present(image):
        unavailable(f"{image} missing: python3 scripts/docker_images.py build")
    kafka_broker: KafkaBroker = request.getfixturevalue("kafka_broker")
    assert isinstance(kafka_broker, ContainerBroker), kafka_broker.origin
    return kafka_broker


def test_session_broker_is_a_loopback_testcontainers_container(
    container_broker: ContainerBroker,
) -> None:
    container = container_broker.container
    assert isinstance(container, kafka_container.LoopbackKafkaContainer)
    attrs = container.get_wrapped_container().attrs
    assert attrs["State"]["Running"] is True
    assert attrs["HostConfig"]["NetworkMode"] == "host"
    assert container_broker.bootstrap == f"127.0.0.1:{container.port}"


async def test_transactions_round_trip_through_the_container(
    container_broker: ContainerBroker,
) -> None:
    topic = f"container-{uuid.uuid4().hex}"
    admin = AIOKafkaAdminClient(bootstrap_servers=container_broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        await wait_for(lambda: _leaders_elected(admin, topic, 1), timeout=30)
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=container_broker.bootstrap, transactional_id=f"tx-{topic}"
    )
    await producer.start()
    try:
        async with producer.transaction():
            for index in range(10):
                await producer.send(topic, f"m{index}".encode())
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=container_broker.bootstrap,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        while len(values) < 10:
            batches = await consumer.getmany(timeout_ms=5000)
            assert batches, f"only {len(values)} of 10 committed messages arrived"
            values += [record.value for records in batches.values() for record in records]
    finally:
        await consumer.stop()
    assert values == [f"m{index}".encode() for index in range(10)]
