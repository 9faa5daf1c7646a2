"""The writer's fencing and election, piece by piece (decision 0065).

* ``choose_writer`` (pure): the newest writer still in the group keeps the role;
* ``KafkaSchemaLog`` on the real broker: a writer whose transactional id another producer
  took over is fenced (``NotWriter``) and writes nothing; the group still naming it the
  writer, it takes the role back only after a session timeout without a newer assignment.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from impact_kafka.config import KafkaClientSettings
from impact_kafka.read import read_to_end
from impact_registry.election import Member, choose_writer
from impact_registry.schema_log import NotWriter
from impact_registry.state import RegistryState, id_record
from impact_registry.storage import KafkaSchemaLog


def test_the_newest_writer_keeps_the_role() -> None:
    members = {"m-b": Member("http://b", 20.0), "m-a": Member("http://a", 10.0)}
    assert choose_writer(members) == "m-b"  # b's promotion fenced a
    assert choose_writer({**members, "m-c": Member("http://c")}) == "m-b"


def test_without_a_writer_the_first_member_with_a_url_is_chosen() -> None:
    assert choose_writer({"m-2": Member("http://b"), "m-1": Member("http://a")}) == "m-1"
    assert choose_writer({"m-0": Member.decode(b"not ours"), "m-9": Member("http://z")}) == "m-9"
    assert choose_writer({"m-2": Member("u", 5.0), "m-1": Member("v", 5.0)}) == "m-1"


def test_member_metadata_round_trips() -> None:
    assert Member.decode(Member("http://a:1", 12.5).encode()) == Member("http://a:1", 12.5)


def schema(name: str) -> str:
    return json.dumps({"type": "record", "name": name, "fields": []})


async def committed_ids(kafka: KafkaClientSettings, topic: str) -> list[int]:
    found = []
    async for message in read_to_end(kafka, [topic], timeout_s=30):
        key: dict[str, Any] = json.loads(message.key or b"{}")
        if key.get("keytype") == "ID":
            found.append(int(key["id"]))
    return found


@pytest.mark.integration
async def test_a_fenced_writer_writes_nothing_and_waits_before_taking_over(
    kafka_bootstrap: str,
) -> None:
    kafka = KafkaClientSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"_schemas-{uuid.uuid4().hex}"
    state = RegistryState()
    log = KafkaSchemaLog(kafka, topic, url="http://writer.test")
    await log.start(state.apply)
    try:
        assert await log.writer_url(30) is None  # the only member: elected, promoted
        await log.append([id_record(1, schema("A"))])
        assert state.schemas[1] == schema("A")  # applied through the tail before returning

        usurper = AIOKafkaProducer(
            bootstrap_servers=kafka_bootstrap,
            transactional_id=log.transactional_id,
            enable_idempotence=True,
        )
        await usurper.start()  # init_transactions: a newer epoch fences ``log``
        try:
            with pytest.raises(NotWriter, match="fenced"):
                await log.append([id_record(2, schema("B"))])
            assert log.is_writer is False
            assert 2 not in state.schemas
            assert await committed_ids(kafka, topic) == [1]
            fenced_at = time.monotonic()
            with pytest.raises(TimeoutError):  # no newer assignment yet: not promoted at once
                await log.writer_url(log.session_timeout_ms / 1000 - 1.0)
        finally:
            await usurper.stop()
        # still the group's writer after a session timeout: it fences the usurper in turn
        assert await log.writer_url(30) is None
        assert time.monotonic() - fenced_at >= log.session_timeout_ms / 1000
        await log.append([id_record(2, schema("C"))])
        assert state.schemas[2] == schema("C")
        assert await committed_ids(kafka, topic) == [1, 2]
    finally:
        await log.stop()
