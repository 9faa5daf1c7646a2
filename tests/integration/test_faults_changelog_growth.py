"""Fault suite (m): the orchestrator's changelog grown with the event topics.

An operator growing "every ``impact.*`` topic" from 6 to 12 partitions, the changelog
included (docs/deployment.md forbids it): run ownership is ``murmur2(run_id) % <changelog
partitions>``, so half the runs' records no longer sit on their owner partition and
their state is stranded. Nothing noticed it. Now (decision 0079) the running orchestrator
sees the changelog's count differ from the one it started with, and a restarted one finds
a record off its run's owner partition: each refuses to run (one log line naming the
topic, the counts and the procedure; counted; not ready; the process exits with the batch
uncommitted). The documented repair, a new changelog topic, starts and a new run
completes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
from impact_orchestrator.manifest import Manifest
from impact_orchestrator.ownership import SCALING, owner_partition

from tests.support.fault_manifests import cohort, embedded_outcome, outcome
from tests.support.fault_stack import fault_stack
from tests.support.fault_watch import run_to_end
from tests.support.faults import FaultRow, FaultStack, record_fault, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.faults]

N = 4
GROWN = 12
RUN_TIMEOUT_S = 120.0
#: a run whose changelog partition moves when 6 grows to 12
RUN_ID = next(
    f"grown-{i}"
    for i in range(100)
    if owner_partition(f"grown-{i}", 6) != owner_partition(f"grown-{i}", GROWN)
)
#: the clients notice new partitions at their next metadata refresh (5 min by default)
PACING = {"IMPACT_METADATA_MAX_AGE_MS": "2000"}


stack = fault_stack("changelog-growth", {"orchestrator": 1}, env=PACING)


async def grow_every_topic(bootstrap: str, prefix: str) -> None:
    """Every topic of ``prefix`` but the DLQs, the changelog included, to ``GROWN``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
        grown = {t: NewPartitions(GROWN) for t in topics if not t.endswith(".dlq")}
        await admin.create_partitions(grown)
    finally:
        await admin.close()


async def run_once(
    stack: FaultStack, bootstrap: str, registry: str, manifest: Manifest, run_id: str
) -> tuple[dict[str, Any], tuple[int, int]]:
    run, events, _ = await run_to_end(
        stack, bootstrap, registry, manifest, run_id, RUN_TIMEOUT_S, settle=False
    )
    return run, events.delivery()


async def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    """The partitions of ``topic`` that hold records, with their end offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
    finally:
        await consumer.stop()
    return {tp.partition: n for tp, n in ends.items() if n}


def refusals(stack: FaultStack, name: str) -> list[str]:
    return [
        str(line["error"])
        for line in stack.log_lines(name)
        if line.get("event") == "changelog_partitioning_changed"
    ]


async def test_a_grown_changelog_is_refused_and_a_new_one_repairs(
    stack: FaultStack, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    [orchestrator] = stack.names("orchestrator")
    changelog = f"{stack.prefix}orchestrator.changelog"
    args = (stack, kafka_bootstrap, schema_registry_url)
    manifest = cohort(tmp_path, N)
    run, first = await run_once(*args, manifest, RUN_ID)
    assert outcome(run) == await embedded_outcome(manifest, RUN_ID)
    held = await end_offsets(kafka_bootstrap, changelog, 6)
    assert set(held) == {owner_partition(RUN_ID, 6)}

    await grow_every_topic(kafka_bootstrap, stack.prefix)
    # running: the inputs' growth rebalances it; its changelog no longer has 6 partitions
    dead = (lambda: orchestrator in stack.dead(), 60, "the orchestrator did not refuse")
    await asyncio.to_thread(wait_until, *dead)
    [running] = refusals(stack, orchestrator)
    assert running == (
        f"changelog {changelog} has {GROWN} partitions, this orchestrator started with 6: its "
        "partition count changed (it grew: never alter it) or another partitioner wrote it; "
        f"the runs it holds are stranded, so this orchestrator refuses to run; repair: {SCALING}"
    )
    # restarted: it starts with 12, and finds the run's records off their owner partition
    stack.restart(orchestrator)
    await asyncio.to_thread(wait_until, *dead)
    restarted = refusals(stack, orchestrator)[1]
    assert restarted.startswith(
        f"changelog {changelog} holds run {RUN_ID!r} on partition {owner_partition(RUN_ID, 6)}, "
        f"but murmur2 puts it on partition {owner_partition(RUN_ID, GROWN)} of {GROWN}: "
    )
    assert await end_offsets(kafka_bootstrap, changelog, GROWN) == held  # nothing written, lost

    # the documented repair: a new changelog topic (created with the inputs' 12)
    stack.env = {**stack.env, "IMPACT_CHANGELOG_TOPIC": f"{changelog}.v2"}
    stack.restart(orchestrator)
    later = cohort(tmp_path, N)
    run_later, second = await run_once(*args, later, f"{RUN_ID}-after")
    assert outcome(run_later) == await embedded_outcome(later, f"{RUN_ID}-after")
    lost, duplicated = first[0] + second[0], first[1] + second[1]
    record_fault(
        FaultRow(
            "changelog grown",
            f"every topic, the changelog included, grown from 6 to {GROWN} partitions after "
            "a run; the orchestrator (running, then restarted) refuses; then the documented "
            "repair (a new changelog topic) and a second run",
            1,
            lost,
            duplicated,
            None,
        )
    )
    assert (lost, duplicated) == (0, 0)
