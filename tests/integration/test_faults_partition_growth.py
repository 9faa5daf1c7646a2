"""Fault suite (k): every event topic grown from 6 to 12 partitions mid-run.

An operator who wants more than 6 replicas of a stage grows every ``impact.*`` event topic
(not the changelog, not the DLQs) to 12 partitions while a 40-initiative run is in flight
(2 orchestrators, 2 measure replicas), as ``kafka-topics --alter --partitions 12`` does.
The orchestrators then got input partitions 6..11 and tried to restore runs from changelog
partitions that do not exist, for ever. Run ownership now follows the changelog's
partition count, which never changes; events read on the new partitions are forwarded to
their owner (decision 0079). The run in flight completes, an orchestrator restarted after
the growth starts, and a later run completes too.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
from impact_observe.bus import Bus
from impact_orchestrator.manifest import Manifest

from tests.support.fault_components import MEASURE_DELAY_ENV
from tests.support.fault_manifests import cohort, embedded_outcome, outcome
from tests.support.fault_runs import RunEvents, wait_consumed
from tests.support.fault_stack import fault_stack
from tests.support.fault_watch import RunWatch
from tests.support.faults import SERVICE_INPUTS, FaultRow, FaultStack, record_fault, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.faults]

N = 40
GROWN = 12
RUN_TIMEOUT_S = 180.0
#: The clients notice new partitions at their next metadata refresh (5 min by default);
#: 2 s here, so the growth lands mid-run.
PACING = {MEASURE_DELAY_ENV: "0.3", "IMPACT_METADATA_MAX_AGE_MS": "2000"}


stack = fault_stack("growth", {"orchestrator": 2, "measure": 2}, env=PACING)


async def grow_event_topics(bootstrap: str, prefix: str) -> list[str]:
    """Every event topic of ``prefix`` (not the changelog, not the DLQs) to ``GROWN``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = sorted(
            t
            for t in await admin.list_topics()
            if t.startswith(prefix) and not t.endswith((".dlq", ".changelog"))
        )
        await admin.create_partitions({t: NewPartitions(GROWN) for t in topics})
    finally:
        await admin.close()
    return topics


def took_new_partitions(stack: FaultStack) -> bool:
    """Both orchestrators were assigned input partitions past the changelog's 6."""
    return all(any(p >= 6 for _, p in stack.owned(name)) for name in stack.names("orchestrator"))


async def run_once(
    stack: FaultStack, bootstrap: str, registry: str, manifest: Manifest, run_id: str, grow: bool
) -> tuple[dict[str, Any], RunWatch, float | None]:
    bus = Bus(bootstrap, registry, stack.prefix)
    grown_at = None
    try:
        async with RunWatch(bootstrap, bus.codec, stack.prefix, run_id) as watch:
            await bus.publish_manifest(manifest.to_event_payload(), run_id)
            if grow:
                await watch.until(lambda w: w.progress.get("measure", 0) >= 5, 120, "5 results")
                grown_at = time.monotonic()
                await grow_event_topics(bootstrap, stack.prefix)
            run = await watch.finished(RUN_TIMEOUT_S, alive=stack)
    finally:
        await bus.close()
    return run, watch, grown_at


async def test_runs_complete_after_the_event_topics_grow(
    stack: FaultStack, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    manifest = cohort(tmp_path, N)
    expected = await embedded_outcome(manifest, "growth-in-flight")
    args = (stack, kafka_bootstrap, schema_registry_url)
    run, watch, grown_at = await run_once(*args, manifest, "growth-in-flight", grow=True)
    assert grown_at is not None
    assert outcome(run) == expected
    took = (
        lambda: took_new_partitions(stack),
        60,
        "the orchestrators did not take partitions 6..11",
    )
    await asyncio.to_thread(wait_until, *took)

    restarted = stack.names("orchestrator")[0]  # starts with inputs of 12, a changelog of 6
    await asyncio.to_thread(stack.kill, restarted)
    stack.restart(restarted)
    later = cohort(tmp_path, N // 2)
    expected_later = await embedded_outcome(later, "growth-after")
    run_later, _, _ = await run_once(*args, later, "growth-after", grow=False)
    assert outcome(run_later) == expected_later

    await wait_consumed(kafka_bootstrap, stack.prefix, list(SERVICE_INPUTS))
    bus = Bus(kafka_bootstrap, schema_registry_url, stack.prefix)
    try:
        counts = [
            (await RunEvents.read(kafka_bootstrap, bus.codec, stack.prefix, r)).delivery()
            for r in ("growth-in-flight", "growth-after")
        ]
    finally:
        await bus.close()
    lost, duplicated = (sum(c[0] for c in counts), sum(c[1] for c in counts))
    record_fault(
        FaultRow(
            "event topics grown",
            f"every event topic grown from 6 to {GROWN} partitions during a {N}-initiative "
            "run (2 orchestrators, 2 measure replicas); an orchestrator restarted and a "
            "second run after it",
            1,
            lost,
            duplicated,
            watch.longest_stall(grown_at, grown_at + 30),
        )
    )
    assert (lost, duplicated) == (0, 0)
    started = [ln for ln in stack.log_lines(restarted) if ln.get("event") == "service_started"]
    assert len(started) == 2, "the orchestrator restarted after the growth did not start"
    assert not [ln for ln in stack.log_lines(restarted) if re.search("ConfigError", str(ln))]
