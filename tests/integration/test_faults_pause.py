"""Fault suite (h): a replica paused past its session timeout mid-transaction (a zombie).

A measure replica is frozen with SIGSTOP while it holds a fetched, uncommitted command (a
GC pause, a stalled VM, a laptop lid), long enough for the group coordinator to expire its
session and hand its partitions to the other replica, which processes the same command
again. Then it is resumed with SIGCONT. Its transaction must not commit: otherwise the
command's result is on the topic twice (the second replica's and the zombie's), which
read_committed consumers cannot tell apart. Decision 0055.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from impact_observe.bus import Bus

from tests.support.fault_components import MEASURE_DELAY_ENV
from tests.support.fault_manifests import cohort, embedded_outcome, outcome
from tests.support.fault_runs import RunEvents
from tests.support.fault_stack import fault_stack
from tests.support.fault_watch import RunWatch
from tests.support.faults import FaultStack

pytestmark = [pytest.mark.integration, pytest.mark.faults]

N = 16
PAUSES = 2
SESSION_TIMEOUT_MS = 6000  # the broker's group.min.session.timeout.ms
#: Past the session timeout, so the coordinator gives the partitions away.
PAUSE_S = 10.0
RUN_TIMEOUT_S = 300.0
PACING = {
    MEASURE_DELAY_ENV: "1.0",  # a replica holds a fetched command ~95 % of the time
    "IMPACT_MAX_POLL_RECORDS": "1",
    "IMPACT_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
}


stack = fault_stack("pause", {"measure": 2}, env=PACING)


async def test_a_replica_paused_past_its_session_commits_nothing_twice(
    stack: FaultStack, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    manifest = cohort(tmp_path, N)
    run_id = "pause-zombie"
    expected = await embedded_outcome(manifest, run_id)
    paused_at: list[float] = []

    async def freeze(victim: str) -> None:
        process = stack.processes[victim]
        process.send_signal(signal.SIGSTOP)
        paused_at.append(time.monotonic())
        try:
            await asyncio.sleep(PAUSE_S)  # the fault itself: the replica is frozen
        finally:
            process.send_signal(signal.SIGCONT)

    bus = Bus(kafka_bootstrap, schema_registry_url, stack.prefix)
    try:
        async with RunWatch(kafka_bootstrap, bus.codec, stack.prefix, run_id) as watch:
            await bus.publish_manifest(manifest.to_event_payload(), run_id)
            for round_ in range(PAUSES):
                wanted = watch.progress.get("measure", 0) + 2

                def measured(w: RunWatch, wanted: int = wanted) -> bool:
                    return w.progress.get("measure", 0) >= wanted

                await watch.until(measured, 120, "2 more results")
                await freeze(stack.names("measure")[round_ % 2])
            run = await watch.finished(RUN_TIMEOUT_S)
        assert not stack.dead(), f"replicas exited after SIGCONT: {stack.dead()}"
        events = await RunEvents.settled(kafka_bootstrap, bus.codec, stack.prefix, run_id)
    finally:
        await bus.close()

    stall = max(watch.longest_stall(at, at + PAUSE_S + 30) for at in paused_at)
    lost, duplicated = events.record(
        "SIGSTOP measure (zombie)",
        f"measure replica frozen {PAUSE_S:.0f} s (past its session timeout) holding an "
        "uncommitted command, then resumed",
        len(paused_at),
        round(stall, 1),
    )
    assert outcome(run) == expected
    assert (lost, duplicated) == (0, 0)
    assert len(events.named("run_completed")) == 1
