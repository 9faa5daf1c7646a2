"""At start the orchestrator reads its input topics' partition count from the broker: run
ownership is computed from it, so inputs that differ are a clear error, and the changelog
is created with the inputs' count (not the settings' default)."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import UnknownTopicOrPartitionError
from impact_contracts import ConfigError
from impact_orchestrator.changelog import record_key
from impact_orchestrator.ownership import owner_partition
from impact_orchestrator.service import (
    INPUTS,
    ChangelogChanged,
    Orchestrator,
    Settings,
    build_service,
    partition_counts,
)
from impact_runtime import JsonCodec
from impact_runtime.outage import kafka_outage
from impact_schemas.catalog import topic_for

from services.orchestrator.tests.fakes import FAKE_CATALOGS
from services.orchestrator.tests.kafka_settings import settings_for

pytestmark = pytest.mark.integration


def two_partitions(bootstrap: str) -> Settings:
    return settings_for(bootstrap, "pc", topic_partitions=2, tick_interval_s=1.0)


async def create(bootstrap: str, counts: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, n, 1) for t, n in counts.items()])
    finally:
        await admin.close()


async def test_inputs_with_different_partition_counts_are_refused(kafka_bootstrap: str) -> None:
    settings = two_partitions(kafka_bootstrap)
    failed = topic_for("stage_failed", settings.topic_prefix)
    await create(kafka_bootstrap, {failed: 3})
    service = build_service(settings)
    with pytest.raises(ConfigError) as info:
        await service.start()
    others = sorted(topic_for(e, settings.topic_prefix) for e in INPUTS if e != "stage_failed")
    listed = ", ".join(f"{t}={3 if t == failed else 2}" for t in sorted([*others, failed]))
    assert str(info.value) == f"orchestrator input topics differ in partition count: {listed}"
    assert not service.running


async def test_the_changelog_follows_the_inputs_partition_count(kafka_bootstrap: str) -> None:
    settings = two_partitions(kafka_bootstrap)
    await create(kafka_bootstrap, {topic_for(e, settings.topic_prefix): 4 for e in INPUTS})
    orchestrator = Orchestrator(settings, catalogs=FAKE_CATALOGS)
    service = build_service(settings, orchestrator)
    service.codec = JsonCodec()
    async with service:
        assert orchestrator.partition_count == 4
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([settings.changelog_topic])
    finally:
        await admin.close()
    assert len(described["partitions"]) == 4


def test_a_topic_without_metadata_yet_is_retriable_not_zero_partitions() -> None:
    """On a cluster a topic just created may be unknown to the broker asked: counting it
    as 0 partitions refused a valid start ("input topics differ")."""
    described = [
        {"topic": "a", "error_code": 0, "partitions": [{"leader": 1}, {"leader": 2}]},
        {"topic": "b", "error_code": 3, "partitions": []},
        {"topic": "c", "error_code": 0, "partitions": []},
    ]
    with pytest.raises(UnknownTopicOrPartitionError, match=r"\['b', 'c'\]") as info:
        partition_counts(described)
    assert kafka_outage(info.value)
    assert partition_counts(described[:1]) == {"a": 2}


async def test_inputs_grown_past_the_changelog_keep_its_count(kafka_bootstrap: str) -> None:
    settings = two_partitions(kafka_bootstrap)
    inputs = {topic_for(e, settings.topic_prefix): 4 for e in INPUTS}
    await create(kafka_bootstrap, {**inputs, settings.changelog_topic: 2})
    orchestrator = Orchestrator(settings, catalogs=FAKE_CATALOGS)
    service = build_service(settings, orchestrator)
    service.codec = JsonCodec()
    async with service:
        assert orchestrator.partition_count == 2


async def test_inputs_with_fewer_partitions_than_the_changelog_are_refused(
    kafka_bootstrap: str,
) -> None:
    settings = two_partitions(kafka_bootstrap)
    await create(kafka_bootstrap, {settings.changelog_topic: 3})  # the inputs get 2
    service = build_service(settings)
    with pytest.raises(ConfigError, match="have fewer partitions than the changelog") as info:
        await service.start()
    assert f"{settings.changelog_topic} (3), which fixes run ownership" in str(info.value)
    assert not service.running


async def _readyz_and_metrics(port: int) -> tuple[int, str]:
    async def get(path: str) -> tuple[int, str]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        answer = (await reader.read()).decode()
        writer.close()
        return int(answer.split()[1]), answer

    return (await get("/readyz"))[0], (await get("/metrics"))[1]


async def test_a_grown_changelog_is_refused_and_nothing_is_lost(kafka_bootstrap: str) -> None:
    """Every topic, the changelog too, grown 2 -> 4 under a stopped stack (as a
    ``kafka-topics --alter`` loop over ``impact.*`` does): the changelog's records no longer
    sit on their runs' owner partitions. The orchestrator refuses to run with one line
    naming the topic, the counts and the procedure; it is never ready, counts and logs it,
    writes nothing and commits no input offset (decision 0079)."""
    settings = two_partitions(kafka_bootstrap)
    inputs = [topic_for(e, settings.topic_prefix) for e in INPUTS]
    changelog = settings.changelog_topic
    await create(kafka_bootstrap, {**dict.fromkeys(inputs, 2), changelog: 2})
    moved = next(
        f"run-{i}"
        for i in range(100)
        if owner_partition(f"run-{i}", 2) != owner_partition(f"run-{i}", 4)
    )
    stored = owner_partition(moved, 2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for part in [("header",), ("manifest",)]:
            key = record_key(moved, part).encode()
            await producer.send_and_wait(changelog, b'{"run_id":"x"}', key=key, partition=stored)
        submitted = topic_for("manifest_submitted", settings.topic_prefix)
        event = json.dumps({"run_id": moved}).encode()
        await producer.send_and_wait(submitted, event, key=moved.encode())
    finally:
        await producer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_partitions({t: NewPartitions(4) for t in [*inputs, changelog]})
    finally:
        await admin.close()

    orchestrator = Orchestrator(settings, catalogs=FAKE_CATALOGS)
    service = build_service(settings, orchestrator)
    service.codec = JsonCodec()
    with pytest.raises(ChangelogChanged) as info:
        async with service:
            await asyncio.wait_for(orchestrator.restored.wait(), 30)
            assert orchestrator.refused is not None
            ready, metrics = await _readyz_and_metrics(service.http_port)
            assert ready == 503
            assert not orchestrator.healthy
            assert "impact_changelog_partitioning_changed_total 1.0" in metrics
    owner = owner_partition(moved, 4)
    assert str(info.value) == (
        f"changelog {changelog} holds run {moved!r} on partition {stored}, but murmur2 puts "
        f"it on partition {owner} of 4: its partition count changed (it grew: never alter "
        "it) or another partitioner wrote it; the runs it holds are stranded, so this "
        "orchestrator refuses to run; repair: docs/deployment.md, 'Scaling past the "
        "partition count'"
    )
    # nothing lost: the changelog holds what it held, no input offset was committed
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=settings.group_id)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in inputs for p in range(4)]
        committed = [await consumer.committed(tp) for tp in tps]
        ends = await consumer.end_offsets([TopicPartition(changelog, p) for p in range(4)])
    finally:
        await consumer.stop()
    assert committed == [None] * len(tps)
    assert ends == {TopicPartition(changelog, p): (2 if p == stored else 0) for p in range(4)}
