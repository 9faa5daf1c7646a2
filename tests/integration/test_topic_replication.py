"""Topics the project creates are replicated as the cluster allows (decision 0061):
RF 3 / min ISR 2 on the 3-node cluster, RF 1 / min ISR 1 on a single broker."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from impact_contracts import ConfigError
from impact_kafka.config import KafkaClientSettings
from impact_kafka.topics import ensure_topics
from impact_registry.storage import KafkaSchemaLog
from impact_runtime import ServiceSettings

from tests.support.cluster import LocalCluster
from tests.support.kafka_clients import describe_topic, topic_config

pytestmark = pytest.mark.integration


async def replication_of(bootstrap: str, topic: str) -> tuple[list[int], str]:
    """Replica counts per partition and the topic's ``min.insync.replicas``."""
    described = await describe_topic(bootstrap, topic)
    assert described is not None, f"{topic} does not exist"
    replicas = [len(p["replicas"]) for p in described["partitions"]]
    return replicas, (await topic_config(bootstrap, topic))["min.insync.replicas"]


async def create_like_the_project(bootstrap: str) -> dict[str, tuple[list[int], str]]:
    """An event topic and its DLQ (as a service creates them), a compacted changelog (as
    the orchestrator does) and the registry's log: their replication."""
    name = f"replication-{uuid.uuid4().hex}"
    settings = ServiceSettings(service_name="replication-test", bootstrap_servers=bootstrap)
    await ensure_topics(settings, {name, f"{name}.dlq"})
    await ensure_topics(settings, {f"{name}.changelog"}, configs={"cleanup.policy": "compact"})
    schemas = KafkaSchemaLog(KafkaClientSettings(bootstrap_servers=bootstrap), f"_schemas-{name}")
    await schemas.start(lambda key, value: None)
    await schemas.stop()
    topics = [name, f"{name}.dlq", f"{name}.changelog", f"_schemas-{name}"]
    return {topic: await replication_of(bootstrap, topic) for topic in topics}


async def test_cluster_topics_get_three_replicas_and_min_isr_two(
    kafka_cluster: LocalCluster,
) -> None:
    found = await create_like_the_project(kafka_cluster.bootstrap)
    events, dlq, changelog, schemas = found.values()
    assert events == dlq == changelog == ([3] * 6, "2")
    assert schemas == ([3], "2")


async def test_single_broker_topics_get_one_replica(kafka_bootstrap: str) -> None:
    found = await create_like_the_project(kafka_bootstrap)
    events, dlq, changelog, schemas = found.values()
    assert events == dlq == changelog == ([1] * 6, "1")
    assert schemas == ([1], "1")


async def test_more_replicas_than_brokers_is_a_config_error(kafka_cluster: LocalCluster) -> None:
    settings = ServiceSettings(
        service_name="replication-test",
        bootstrap_servers=kafka_cluster.bootstrap,
        topic_replication_factor=4,
    )
    with pytest.raises(ConfigError) as raised:
        await ensure_topics(settings, {f"replication-{uuid.uuid4().hex}"})
    assert str(raised.value) == (
        "IMPACT_TOPIC_REPLICATION_FACTOR=4 needs 4 brokers, the cluster has 3: "
        "lower it or set it to auto"
    )


async def leaders_once_ensured(settings: ServiceSettings, topic: str) -> int:
    """``ensure_topics`` then, at once, how many partitions of ``topic`` have a leader."""
    await ensure_topics(settings, {topic})
    described = await describe_topic(settings.bootstrap_servers, topic)
    return 0 if described is None else sum(1 for p in described["partitions"] if p["leader"] >= 0)


async def test_concurrent_creators_all_wait_for_the_partitions(
    kafka_cluster: LocalCluster,
) -> None:
    """Three replicas starting at once (the orchestrators of the cluster fault test): the
    ones whose create is refused as existing also return only once the topic's partitions
    have leaders (else one saw 0 partitions and stopped with a ConfigError)."""
    settings = ServiceSettings(
        service_name="replication-test", bootstrap_servers=kafka_cluster.bootstrap
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_cluster.bootstrap)
    await admin.start()
    try:
        for attempt in range(5):
            topic = f"concurrent-{attempt}-{uuid.uuid4().hex}"
            # the first replica's create, as the controller acknowledges it (no waiting)
            await admin.create_topics([NewTopic(topic, settings.topic_partitions, 3)])
            seen = await asyncio.gather(*(leaders_once_ensured(settings, topic) for _ in range(3)))
            assert seen == [settings.topic_partitions] * 3, f"attempt {attempt}: {seen}"
    finally:
        await admin.close()
