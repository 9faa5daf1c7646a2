"""A member killed inside a transaction: the survivors abort it at the next rebalance
(decision 0074), instead of its ``read_committed`` readers waiting out its timeout."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid

import pytest
from impact_runtime import Incoming, JsonCodec, Outgoing, Output, Service

from runtime.tests.kafka_io import CommittedReader, as_json, isolated_settings, produce, request
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

#: A member of the service's group that opens a transaction on the sink and is killed
#: with it open (its timeout, 15 min, outlives the test).
MEMBER = """
import asyncio, sys
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

async def main(bootstrap, group, source, sink, transactional_id):
    consumer = AIOKafkaConsumer(
        source, bootstrap_servers=bootstrap, group_id=group, client_id=transactional_id,
        session_timeout_ms=6000, heartbeat_interval_ms=1000,
    )
    await consumer.start()
    while consumer._coordinator.generation < 0:
        await consumer.getmany(timeout_ms=200)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id=transactional_id,
        transaction_timeout_ms=900000,
    )
    await producer.start()
    await producer.begin_transaction()
    await producer.send_and_wait(sink, b"left open", partition=0)
    print("open", flush=True)
    while True:
        await consumer.getmany(timeout_ms=500)

asyncio.run(main(*sys.argv[1:]))
"""


def doubled(incoming: Incoming) -> list[Output]:
    value = {"initiative_id": incoming.value["initiative_id"], "doubled": 2 * incoming.value["x"]}
    return [Outgoing("measure_completed", incoming.value["run_id"], value)]


async def test_a_member_killed_inside_a_transaction_is_fenced_by_the_survivors(
    kafka_bootstrap: str,
) -> None:
    settings = isolated_settings(kafka_bootstrap, topic_partitions=1, session_timeout_ms=6000)
    source = f"{settings.topic_prefix}measure.requested.v1"
    sink = f"{settings.topic_prefix}measure.completed.v1"
    member_id = f"{settings.consumer_group}-member-{uuid.uuid4().hex[:6]}"
    service = Service(settings, ["measure_requested"], doubled, codec=JsonCodec())
    service.output_events = ("measure_completed",)
    await service.start()
    member = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-c", MEMBER, kafka_bootstrap, settings.consumer_group, source, sink, member_id),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert member.stdout is not None
        line = await asyncio.wait_for(member.stdout.readline(), 60)
        assert line == b"open\n", line
        departures = service._kafka.departures if service._kafka else None
        assert departures is not None
        await wait_for(
            lambda: member_id in departures.seen, 60, message="the member was never seen"
        )
        member.send_signal(signal.SIGKILL)
        await member.wait()
        await produce(kafka_bootstrap, source, [("run-f", as_json(request("run-f", 21)))])
        async with CommittedReader(kafka_bootstrap, sink) as reader:
            # without the fence the open transaction holds the sink's stable offset at
            # its first record for 15 min: nothing after it is readable
            [record] = await reader.wait_count(1, timeout=60)
            await wait_for(lambda: departures.fenced == [member_id], 30, message="no fence")
            assert await reader.drain() == [record]
    finally:
        if member.returncode is None:
            member.kill()
            await member.wait()
        await service.stop()
    assert (await JsonCodec().decode(record.value, sink))["doubled"] == 42
