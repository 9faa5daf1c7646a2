"""ExactlyOnceDelivery on a real broker: the generation check, run alongside adding the
offsets to the transaction, still decides whether the batch commits (decision 0055)."""

from __future__ import annotations

import asyncio

import pytest
import structlog
from aiokafka import TopicPartition
from impact_runtime.delivery import KafkaClients
from impact_runtime.delivery.membership import LostOwnership
from impact_runtime.metrics import ServiceMetrics
from impact_runtime.outage import Outages
from impact_runtime.retry import RetryPolicy
from impact_runtime.structs import ProducerRecord

from runtime.tests.kafka_io import committed_offsets, isolated_settings, produce, read_all
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration


class NoListener:
    """``Assignments`` that ignore every rebalance."""

    async def on_revoked(self, revoked: object) -> None:
        pass

    async def on_assigned(self, assigned: object) -> None:
        pass


@pytest.mark.parametrize("owner", [True, False])
async def test_a_batch_commits_only_in_the_generation_it_was_fetched_in(
    kafka_bootstrap: str, owner: bool
) -> None:
    settings = isolated_settings(kafka_bootstrap, topic_partitions=1)
    source, sink = f"{settings.topic_prefix}in", f"{settings.topic_prefix}out"
    log = structlog.get_logger()
    outages = Outages(RetryPolicy(0, 0.1, 0.1), ServiceMetrics("t"), asyncio.sleep, log)
    kafka = KafkaClients(settings, f"{settings.consumer_group}-t", log, outages, asyncio.Event())
    await kafka.ensure({source, sink})
    await produce(kafka_bootstrap, source, [("k", b"x")])
    await kafka.start([source], NoListener())
    try:
        fetched: list = []

        async def fetch() -> bool:
            batch = await kafka.consumer.getmany(timeout_ms=200)
            fetched.extend(m for messages in batch.values() for m in messages)
            return bool(fetched)

        await wait_for(fetch, timeout=60, message="the consumer never fetched the input")
        generation = kafka.membership.generation
        records = [ProducerRecord(sink, b"k", b"out", ())]
        offsets = {TopicPartition(source, 0): 1}
        if owner:
            await kafka.delivery.deliver(records, offsets, generation)
        else:
            with pytest.raises(LostOwnership):
                await kafka.delivery.deliver(records, offsets, generation + 1)
    finally:
        await kafka.stop(commit=False)
    outputs = await read_all(kafka_bootstrap, sink)
    committed = await committed_offsets(kafka_bootstrap, settings.consumer_group, source, 1)
    assert [r.value for r in outputs] == ([b"out"] if owner else [])
    assert committed == ([1] if owner else [-1])
