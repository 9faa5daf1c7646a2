"""FakeBus's topics (``FakeTopics``, the runtime's ``Topics`` protocol in memory): what the
bus produced, per partition in produced order, read back to the end taken at the start."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from impact_runtime import FakeBus, Incoming, Output, Service, ServiceSettings
from impact_runtime.fake import FakeTopics
from impact_runtime.structs import ProducerRecord, RawMessage
from impact_runtime.transport import KafkaTopics, Topics

STATE = "impact.state"


def keep(incoming: Incoming) -> list[Output]:
    return []


async def read_all(topics: Topics, *tps: TopicPartition) -> list[RawMessage]:
    return [m async for m in topics.read(list(tps), timeout_s=1.0)]


async def test_records_are_kept_per_partition_in_produced_order_with_tombstones() -> None:
    topics = FakeTopics(partitions=4)
    await topics.ensure({STATE}, partitions=3, compacted=True)
    for key, value, partition in [(b"a", b"1", 2), (b"a", None, 2), (b"b", b"2", 0)]:
        topics.append(ProducerRecord(STATE, key, value, managed=False, partition=partition))
    topics.append(ProducerRecord(STATE, b"c", lambda: b"3", managed=False))

    assert await topics.partitions([STATE]) == {STATE: 3} and topics.compacted == {STATE}
    assert await topics.partitions_if_exists("other") is None
    first, second = await read_all(topics, TopicPartition(STATE, 2))
    assert (first.key, first.value, first.offset) == (b"a", b"1", 0)
    assert (second.key, second.value, second.offset) == (b"a", None, 1)
    home = DefaultPartitioner()(b"c", [0, 1, 2], [0, 1, 2])
    [lazy] = await read_all(topics, TopicPartition(STATE, home))
    assert (lazy.key, lazy.value) == (b"c", b"3")


async def test_a_read_ends_where_the_partition_ended_when_it_started() -> None:
    topics = FakeTopics()
    topics.append(ProducerRecord(STATE, b"a", b"1", managed=False, partition=0))
    reading = topics.read([TopicPartition(STATE, 0)], timeout_s=1.0)
    first = await anext(reading)
    topics.append(ProducerRecord(STATE, b"b", b"2", managed=False, partition=0))
    assert first.value == b"1" and [m async for m in reading] == []


async def test_the_bus_installs_its_topics_and_a_second_bus_shares_them(
    settings: ServiceSettings,
) -> None:
    service = Service(settings, ["measure_requested"], keep)
    assert isinstance(service.bus_topics, KafkaTopics)
    bus = FakeBus(service)
    assert service.bus_topics is bus.topics
    await bus.publish("measure_requested", {"run_id": "r1"})
    await bus.publish_raw("impact.measure.requested.v1", b"\xff", "r1")  # poison: DLQ
    [dead] = await read_all(bus.topics, TopicPartition("impact.measure.requested.v1.dlq", 0))
    assert (dead.key, dead.value) == (b"r1", b"\xff")

    again = FakeBus(Service(settings, ["measure_requested"], keep), topics=bus.topics)
    assert again.topics is bus.topics and again.service.bus_topics is bus.topics
