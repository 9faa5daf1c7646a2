"""Fault suite (l): a corrupt record in the orchestrator's changelog.

Mid-run, two corrupt runs are written to the changelog partition of the run in flight (a
run whose failure positions are not 0..n-1, which ``changelog._in_order`` refuses, and a
record that is not even JSON), then the orchestrator owning that partition is SIGKILLed
and restarted, so a replica restores the partition. Retrying the ``ValueError`` would hold
the run in flight for ever while ``/readyz`` answered 200; instead the corrupt runs are
left out, logged and counted, the replica answers 503, and the run in flight completes.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from impact_observe.bus import Bus
from impact_orchestrator.changelog import encode_part, every_part, record_key
from impact_orchestrator.manifest import Manifest
from impact_orchestrator.ownership import owner_partition
from impact_orchestrator.run_state import RunState
from impact_schemas.catalog import topic_for

from tests.support.fault_components import MEASURE_DELAY_ENV
from tests.support.fault_manifests import cohort, embedded_outcome, outcome
from tests.support.fault_runs import RunEvents
from tests.support.fault_stack import fault_stack
from tests.support.fault_watch import RunWatch
from tests.support.faults import FaultStack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.faults]

N = 12
RUN_TIMEOUT_S = 180.0
RUN_ID = "corrupt-changelog"


def owned_alike(stem: str) -> str:
    """A run id owned by the run in flight's partition: the orchestrator writes a run's
    records only there, and a record off its run's owner partition is refused as a changed
    changelog (fault m), not quarantined."""
    home = owner_partition(RUN_ID, 6)
    return next(f"{stem}-{i}" for i in range(1000) if owner_partition(f"{stem}-{i}", 6) == home)


BAD_POSITIONS = owned_alike("corrupt-positions")
NOT_JSON = owned_alike("corrupt-bytes")


stack = fault_stack("corrupt", {"orchestrator": 2}, env={MEASURE_DELAY_ENV: "0.5"})


def corrupt_records(manifest: Manifest) -> list[tuple[bytes, bytes]]:
    """A run whose failure positions skip 0 (``_in_order`` refuses it) and one record that
    is not JSON."""
    state, _ = RunState.start(manifest.to_event_payload(), BAD_POSITIONS, time.time())
    records = [
        (record_key(state.run_id, part).encode(), value)
        for part in sorted(every_part(state), key=str)
        if (value := encode_part(state, part)) is not None
    ]
    bad_part = {
        "run_id": BAD_POSITIONS,
        "part": ["pilot", "i000"],
        "results": {},
        "settled": [],
        "seen": [],
        "failures": [[5, {"initiative_id": "i000", "stage": "measure", "reason": "x"}]],
        "missing": [],
    }
    records.append(
        (record_key(BAD_POSITIONS, ("pilot", "i000")).encode(), json.dumps(bad_part).encode())
    )
    records.append(
        (record_key(NOT_JSON, ("pilot", "i000")).encode(), b"\x00 not a changelog value")
    )
    return records


async def write_corrupt(bootstrap: str, topic: str, partition: int, manifest: Manifest) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for key, value in corrupt_records(manifest):
            await producer.send_and_wait(topic, value, key=key, partition=partition)
    finally:
        await producer.stop()


def http_port(stack: FaultStack, name: str) -> int:
    started = [ln for ln in stack.current_lines(name) if ln.get("event") == "service_started"]
    return int(started[-1]["http_port"])


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def lines(stack: FaultStack, event: str) -> list[dict[str, object]]:
    return [
        line
        for name in stack.names("orchestrator")
        for line in stack.log_lines(name)
        if line.get("event") == event
    ]


async def test_a_corrupt_changelog_record_fails_readiness_and_the_run_completes(
    stack: FaultStack, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    manifest = cohort(tmp_path, N)
    run_id = RUN_ID
    expected = await embedded_outcome(manifest, run_id)
    partition = owner_partition(run_id, 6)
    manifests = topic_for("manifest_submitted", stack.prefix)
    changelog = f"{stack.prefix}orchestrator.changelog"
    bus = Bus(kafka_bootstrap, schema_registry_url, stack.prefix)
    try:
        async with RunWatch(kafka_bootstrap, bus.codec, stack.prefix, run_id) as watch:
            await bus.publish_manifest(manifest.to_event_payload(), run_id)
            await watch.until(lambda w: w.progress.get("measure", 0) >= 2, 120, "2 results")
            await write_corrupt(kafka_bootstrap, changelog, partition, manifest)
            owner = stack.owner("orchestrator", manifests, partition)
            assert owner is not None, "no orchestrator owns the run's partition"
            killed_at = time.monotonic()
            await asyncio.to_thread(stack.kill, owner)
            stack.restart(owner)
            run = await watch.finished(RUN_TIMEOUT_S, alive=stack)
        events = await RunEvents.settled(kafka_bootstrap, bus.codec, stack.prefix, run_id)
    finally:
        await bus.close()
    lost, duplicated = events.record(
        "corrupt changelog record",
        "two corrupt runs written to the changelog partition of the run in flight "
        "(failure positions not 0..n-1; bytes that are not JSON), then its orchestrator "
        "SIGKILLed and restarted",
        1,
        watch.longest_stall(killed_at, killed_at + 30),
    )
    assert outcome(run) == expected
    assert (lost, duplicated) == (0, 0)
    assert len(events.named("run_completed")) == 1
    corrupt = {str(line["run_id"]) for line in lines(stack, "changelog_corrupt")}
    assert corrupt == {BAD_POSITIONS, NOT_JSON}
    assert lines(stack, "restore_failed") == []  # classified, not retried
    assert not stack.dead(), stack.death_report(stack.dead())

    def holder_not_ready() -> int | None:
        """The port of the replica holding the partition now once it answers 503: the
        restarted replica may still be joining (or restoring) when the run completes (its
        log then held only its killed process's partitions and port: "connection
        refused")."""
        holder = stack.owner("orchestrator", manifests, partition)
        if holder is None:
            return None
        port = http_port(stack, holder)
        return port if get(port, "/readyz")[0] == 503 else None

    what = f"no holder of partition {partition} answered 503; logs in {stack.log_dir}"
    port = await asyncio.to_thread(wait_until, holder_not_ready, 60, what)
    metrics = get(port, "/metrics")[1]
    assert "impact_runs_quarantined 2.0" in metrics
    [found] = [
        ln for ln in metrics.splitlines() if ln.startswith("impact_changelog_corrupt_runs_total")
    ]
    assert float(found.split()[-1]) >= 2  # once per restore of the partition
