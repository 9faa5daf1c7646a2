"""A schema id is bound to its schema forever: soft deletes, compaction and restarts included.

The sequence: register A under k1 and B under k2; soft-delete k2; register A
under k2. Version numbers of soft-deleted versions stay taken, so k2's new version is 2 and
B's record is never overwritten. After the ``_schemas`` log is compacted (only the last
record per key survives, tombstones included in the worst case) and the registry restarts,
B's id still resolves to B and the next new schema gets a fresh id.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from impact_kafka.config import KafkaClientSettings
from impact_kafka.read import read_to_end
from impact_registry.schema_log import MemorySchemaLog
from impact_registry.server import create_app
from impact_registry.state import Record
from impact_schemas.registry import RegistryClient, RegistryError

from tests.support.registry_clients import served


def schema(name: str) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": [{"name": "id", "type": "string"}]}


def compacted(records: list[Record]) -> list[Record]:
    """What compaction guarantees at most: the last record per key, tombstones dropped."""
    last: dict[str, tuple[int, Record]] = {}
    for offset, (key, value) in enumerate(records):
        last[json.dumps(key, sort_keys=True)] = (offset, (key, value))
    kept = sorted(last.values(), key=lambda item: item[0])
    return [record for _, record in kept if record[1] is not None]


async def reuse_sequence(client: RegistryClient, k1: str, k2: str) -> tuple[int, int]:
    """Register A under k1, B under k2, soft-delete k2, register A under k2."""
    a, b = schema(f"A{uuid.uuid4().hex}"), schema(f"B{uuid.uuid4().hex}")
    id_a = await client.register(k1, a)
    id_b = await client.register(k2, b)
    assert id_b != id_a
    assert await client.delete_subject(k2) == [1]
    client.clear_cache()
    assert await client.register(k2, a) == id_a
    assert await client.get_versions(k2) == [2]
    assert await client.get_versions(k2, deleted=True) == [1, 2]
    return id_a, id_b


async def assert_ids_kept(client: RegistryClient, id_a: int, id_b: int, b_text: str) -> None:
    """After the restart: B's id is still B, k2's versions stay taken, the next schema
    gets a fresh id."""
    assert await client.get_by_id(id_b) == b_text
    assert await client.get_versions("k2", deleted=True) == [1, 2]
    assert (await client.get_version("k2", 2)).id == id_a
    assert await client.register("k3", schema("C")) == max(id_a, id_b) + 1


async def test_soft_deleted_versions_keep_their_numbers(
    client: RegistryClient, subject: str
) -> None:
    id_a, id_b = await reuse_sequence(client, subject + "-k1", subject)
    client.clear_cache()
    assert json.loads(await client.get_by_id(id_b))["name"].startswith("B")
    assert await client.register(subject + "-k3", schema(f"C{uuid.uuid4().hex}")) not in {
        id_a,
        id_b,
    }


async def _memory_client(log: MemorySchemaLog) -> tuple[RegistryClient, Any]:
    app = create_app(log)
    await app.state.registry.start()
    return RegistryClient("http://registry.test", transport=httpx.ASGITransport(app)), app


async def test_ids_survive_compaction_and_restart_in_memory() -> None:
    log = MemorySchemaLog()
    client, _ = await _memory_client(log)
    async with client:
        id_a, id_b = await reuse_sequence(client, "k1", "k2")
        b_text = await client.get_by_id(id_b)
    restarted = MemorySchemaLog()
    restarted.records = compacted(log.records)
    client, _ = await _memory_client(restarted)
    async with client:
        await assert_ids_kept(client, id_a, id_b, b_text)


async def _copy_compacted(bootstrap: str, source: str, target: str) -> int:
    """Write the compacted view of topic ``source`` to a new compacted topic ``target``."""
    kafka = KafkaClientSettings(bootstrap_servers=bootstrap)
    records: list[Record] = []
    async for message in read_to_end(kafka, [source], timeout_s=30):
        value = None if message.value is None else json.loads(message.value)
        records.append((json.loads(message.key or b"{}"), value))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topic = NewTopic(target, 1, 1, topic_configs={"cleanup.policy": "compact"})
        await admin.create_topics([topic])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in compacted(records):
            encoded = json.dumps(value, sort_keys=True).encode()
            await producer.send_and_wait(target, key=json.dumps(key).encode(), value=encoded)
    finally:
        await producer.stop()
    return len(records)


@pytest.mark.integration
async def test_ids_survive_compaction_and_restart_of_the_server(
    own_registry: Callable[[str], Any], kafka_bootstrap: str
) -> None:
    topic = f"_schemas-{uuid.uuid4().hex}"
    async with served(own_registry(topic)) as client:
        id_a, id_b = await reuse_sequence(client, "k1", "k2")
        b_text = await client.get_by_id(id_b)
    assert await _copy_compacted(kafka_bootstrap, topic, topic + "-compacted") >= 4
    async with served(own_registry(topic + "-compacted")) as client:
        await assert_ids_kept(client, id_a, id_b, b_text)


#: A ``_schemas`` topic the broker's log cleaner compacts within seconds: every segment
#: rolls after 100 ms, and any superseded record may go at once.
EAGER_COMPACTION = {
    "cleanup.policy": "compact",
    "segment.ms": "100",
    "min.cleanable.dirty.ratio": "0.0001",
    "min.compaction.lag.ms": "0",
    "max.compaction.lag.ms": "100",
    "delete.retention.ms": "0",
}
SUPERSEDED = {"keytype": "SCHEMA", "subject": "k2", "version": 1}  # B, then B soft-deleted


async def _records_of(bootstrap: str, topic: str, key: dict[str, Any]) -> int:
    kafka = KafkaClientSettings(bootstrap_servers=bootstrap)
    found = 0
    async for message in read_to_end(kafka, [topic], timeout_s=30):
        found += json.loads(message.key or b"{}") == key
    return found


@pytest.mark.integration
async def test_ids_survive_the_brokers_own_compaction_and_a_restart(
    own_registry: Callable[[str], Any], kafka_bootstrap: str
) -> None:
    """The same sequence on a topic the broker really compacts (not a compacted copy)."""
    topic = f"_schemas-{uuid.uuid4().hex}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1, topic_configs=EAGER_COMPACTION)])
    finally:
        await admin.close()
    async with served(own_registry(topic)) as client:
        id_a, id_b = await reuse_sequence(client, "k1", "k2")
        b_text = await client.get_by_id(id_b)
        assert await _records_of(kafka_bootstrap, topic, SUPERSEDED) == 2
        # later writes roll the segments that hold the sequence, so the cleaner may take them
        deadline = asyncio.get_running_loop().time() + 120
        while await _records_of(kafka_bootstrap, topic, SUPERSEDED) != 1:
            assert asyncio.get_running_loop().time() < deadline, "the broker never compacted"
            await client.set_config("BACKWARD", subject="k9")
            await asyncio.sleep(1.0)
    async with served(own_registry(topic)) as client:
        await assert_ids_kept(client, id_a, id_b, b_text)


async def test_a_log_written_before_id_records_is_back_filled_at_start() -> None:
    legacy = MemorySchemaLog()
    a, b = json.dumps(schema("A")), json.dumps(schema("B"))
    legacy.records = [
        ({"keytype": "SCHEMA", "subject": "k1", "version": 1}, _value("k1", 1, 1, a)),
        ({"keytype": "SCHEMA", "subject": "k2", "version": 1}, _value("k2", 1, 2, b)),
        ({"keytype": "DELETE_SUBJECT", "subject": "k2"}, {}),
    ]
    client, _ = await _memory_client(legacy)
    async with client:
        assert await client.get_subjects() == ["k1"]
        assert await client.get_versions("k2", deleted=True) == [1]
    assert legacy.records[3:] == [
        ({"keytype": "ID", "id": 1}, {"id": 1, "schema": a}),
        ({"keytype": "ID", "id": 2}, {"id": 2, "schema": b}),
    ]
    # even if k2's version record is later removed, id 2 stays B's and is never reused
    legacy.records.append(({"keytype": "SCHEMA", "subject": "k2", "version": 1}, None))
    restarted = MemorySchemaLog()
    restarted.records = compacted(legacy.records)
    client, _ = await _memory_client(restarted)
    async with client:
        assert await client.get_by_id(2) == b
        assert await client.register("k3", schema("C")) == 3


def _value(subject: str, version: int, schema_id: int, text: str) -> dict[str, Any]:
    return {"subject": subject, "version": version, "id": schema_id, "schema": text}


class FailingOnce(MemorySchemaLog):
    """Acknowledges the first record of the next append, then fails (a broker going away)."""

    fail_next = False

    async def append(self, records: list[Record]) -> None:
        if self.fail_next:
            self.fail_next = False
            self.records.extend(records[:1])
            raise KafkaError("broker went away")
        await super().append(records)


async def test_an_id_whose_write_failed_is_never_given_to_another_schema() -> None:
    log = FailingOnce()
    client, _ = await _memory_client(log)
    async with client:
        assert await client.register("k1", schema("A")) == 1
        log.fail_next = True
        with pytest.raises(RegistryError) as caught:
            await client.register("k2", schema("B"))
        assert (caught.value.http_status, caught.value.error_code) == (500, 50001)
        assert await client.register("k3", schema("C")) == 3
    id_keys = [key["id"] for key, _ in log.records if key["keytype"] == "ID"]
    assert id_keys == [1, 2, 3]
