"""Fault suite (e, f): a component bug, and a result that never arrives.

(e) A component raising an unexpected exception must end its initiative (measure) or its
run (allocate) with ``stage_failed`` and the reason within seconds, as in embedded mode.
(f) A measure that never answers for one initiative: the run must end at its deadline by
its policy (``fail`` and ``proceed``) exactly as in embedded mode.

Topics have 2 partitions and measure runs 2 replicas, one partition each; the deadline
test picks initiative ids so that the straggler is alone on its partition, so the replica
stuck on it holds up nothing else (as a hung thread does in embedded mode).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka.partitioner import murmur2
from impact_observe.bus import Bus
from impact_orchestrator.manifest import Manifest
from impact_schemas.catalog import topic_for

from tests.support.fault_components import INJECTED, release_stalls
from tests.support.fault_manifests import cohort, embedded_outcome, outcome
from tests.support.fault_runs import RunEvents, dlq_records
from tests.support.fault_stack import fault_stack
from tests.support.fault_watch import RunWatch
from tests.support.faults import FaultRow, FaultStack, record_fault

pytestmark = [pytest.mark.integration, pytest.mark.faults]

PARTITIONS = 2
FAILURE_WITHIN_S = 15.0
DEADLINE_S = 25.0
RUN_TIMEOUT_S = 90.0


stack = fault_stack("components", {"measure": 2}, partitions=PARTITIONS)


async def _run(
    bus: Bus, bootstrap: str, prefix: str, manifest: Manifest, run_id: str, timeout: float
) -> tuple[dict[str, Any] | str, RunEvents, float]:
    """Publish and follow one run: (its outcome or why there is none, events, seconds)."""
    started = time.monotonic()
    async with RunWatch(bootstrap, bus.codec, prefix, run_id) as watch:
        await bus.publish_manifest(manifest.to_event_payload(), run_id)
        try:
            result: dict[str, Any] | str = outcome(await watch.finished(timeout))
        except TimeoutError as exc:
            result = str(exc)
    events = await RunEvents.read(bootstrap, bus.codec, prefix, run_id)
    return result, events, time.monotonic() - started


async def _embedded(manifest: Manifest, run_id: str) -> dict[str, Any] | str:
    try:
        return await embedded_outcome(manifest, run_id)
    except Exception as exc:  # the bug under test may escape embedded mode too
        return f"embedded mode raised {type(exc).__name__}: {exc}"


def _compare(
    run_id: str, kafka: dict[str, Any] | str, embedded: dict[str, Any] | str, problems: list[str]
) -> None:
    """Note every way the Kafka outcome and the embedded one are missing or differ."""
    for mode, result in (("Kafka", kafka), ("embedded", embedded)):
        if isinstance(result, str):
            problems.append(f"{run_id} ({mode}): {result}")
    if isinstance(kafka, dict) and isinstance(embedded, dict) and kafka != embedded:
        problems.append(f"{run_id}: Kafka {kafka} != embedded {embedded}")


def _failure_latency(events: RunEvents, request: str, stage: str) -> float | None:
    """Seconds from the failing command to its ``stage_failed`` (None: never failed)."""
    failed = [v for v in events.named("stage_failed") if v["stage"] == stage]
    asked = events.named(request)
    if not failed or not asked:
        return None
    return (failed[0]["produced_at"] - asked[-1]["produced_at"]).total_seconds()


async def test_a_component_exception_fails_its_initiative_or_run_within_seconds(
    stack: FaultStack, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    victim = "i002"
    runs = {
        "measure-bug": cohort(
            tmp_path,
            6,
            measure={"component": "FaultyMeasure", "fail_for": [victim]},
            allocate={"component": "MinimaxRegretAllocate"},
        ),
        "allocate-bug": cohort(
            tmp_path, 4, measure={"component": "Measure"}, allocate={"component": "FaultyAllocate"}
        ),
    }
    bus = Bus(kafka_bootstrap, schema_registry_url, stack.prefix)
    try:
        on_kafka, in_embedded = await asyncio.gather(
            asyncio.gather(
                *(_run(bus, kafka_bootstrap, stack.prefix, m, r, 60.0) for r, m in runs.items())
            ),
            asyncio.gather(*(_embedded(m, r) for r, m in runs.items())),
        )
    finally:
        await bus.close()
    kafka = dict(zip(runs, on_kafka, strict=True))
    embedded = dict(zip(runs, in_embedded, strict=True))
    dlq = await dlq_records(kafka_bootstrap, stack.prefix)

    problems: list[str] = []
    latencies: list[float | None] = []
    for run_id, stage, request in (
        ("measure-bug", "measure", "measure_requested"),
        ("allocate-bug", "allocate", "allocate_requested"),
    ):
        result, events, _ = kafka[run_id]
        failed = [v for v in events.named("stage_failed") if v["stage"] == stage]
        if not failed:
            problems.append(f"{run_id}: no stage_failed from {stage}")
        elif not ("IndexError" in failed[0]["reason"] and INJECTED in failed[0]["reason"]):
            problems.append(f"{run_id}: stage_failed reason {failed[0]['reason']!r}")
        latency = _failure_latency(events, request, stage)
        latencies.append(latency)
        if latency is not None and latency > FAILURE_WITHIN_S:
            problems.append(f"{run_id}: stage_failed {latency:.1f} s after the command")
        _compare(run_id, result, embedded[run_id], problems)
        in_dlq = [r for r in dlq if (r.key or b"").decode().split(":")[0] == run_id]
        if in_dlq:
            reasons = [r.headers.get("dlq.reason", b"").decode()[:160] for r in in_dlq]
            problems.append(f"{run_id}: valid commands in the DLQ: {reasons}")
    measure_run, allocate_run = kafka["measure-bug"][0], kafka["allocate-bug"][0]
    if isinstance(measure_run, dict):
        failed_ids = [f["initiative_id"] for f in measure_run["failures"]]
        if (measure_run["status"], failed_ids, measure_run["summary"]["n_evaluated"]) != (
            "completed",
            [victim],
            5,
        ):
            problems.append(f"measure-bug: {measure_run['status']}, failures {failed_ids}")
    if isinstance(allocate_run, dict) and (
        allocate_run["status"] != "failed"
        or "IndexError" not in str(allocate_run["summary"]["reason"])
    ):
        problems.append(f"allocate-bug: {allocate_run['status']}, {allocate_run['summary']}")

    record_fault(
        FaultRow(
            "component exception",
            "IndexError in a measure (one initiative) and in allocate (the run)",
            2,
            sum(kafka[r][1].delivery()[0] for r in runs),
            sum(kafka[r][1].delivery()[1] for r in runs),
            None if None in latencies else round(max(x for x in latencies if x is not None), 1),
            None,
            extra={"problems": len(problems)},
        )
    )
    assert not problems, "\n".join(problems)


def _ids_with_straggler_alone(run_id: str, n: int) -> tuple[list[str], str]:
    """``n`` initiative ids whose command keys (``run_id:id``, murmur2 like the producer)
    put exactly the last one on partition 1 and the rest on partition 0."""
    alone: str | None = None
    rest: list[str] = []
    index = 0
    while alone is None or len(rest) < n - 1:
        name = f"d{index:03d}"
        partition = (murmur2(f"{run_id}:{name}".encode()) & 0x7FFFFFFF) % PARTITIONS
        if partition == 1 and alone is None:
            alone = name
        elif partition == 0 and len(rest) < n - 1:
            rest.append(name)
        index += 1
    return [*rest, alone], alone


async def test_a_result_that_never_arrives_ends_the_run_at_its_deadline(
    stack: FaultStack, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    runs: dict[str, tuple[Manifest, str]] = {}
    for policy in ("fail", "proceed"):
        run_id = f"deadline-{policy}"
        ids, straggler = _ids_with_straggler_alone(run_id, 8)
        measure = {"component": "StallingMeasure", "stall_for": [straggler], "stall_s": 900}
        manifest = cohort(
            tmp_path,
            8,
            ids=ids,
            measure=measure,
            allocate={"component": "MinimaxRegretAllocate"},
            deadline=DEADLINE_S,
            deadline_policy=policy,
        )
        runs[run_id] = (manifest, straggler)

    async def embedded_then_release() -> list[dict[str, Any] | str]:
        results = await asyncio.gather(*(_embedded(m, r) for r, (m, _) in runs.items()))
        release_stalls()
        return list(results)

    bus = Bus(kafka_bootstrap, schema_registry_url, stack.prefix)
    try:
        timeout = DEADLINE_S + RUN_TIMEOUT_S
        kafka_runs, embedded_runs = await asyncio.gather(
            asyncio.gather(
                *(
                    _run(bus, kafka_bootstrap, stack.prefix, m, r, timeout)
                    for r, (m, _) in runs.items()
                )
            ),
            embedded_then_release(),
        )
    finally:
        await bus.close()

    problems: list[str] = []
    stalls = []
    for (run_id, (_, straggler)), (result, events, seconds), embedded in zip(
        runs.items(), kafka_runs, embedded_runs, strict=True
    ):
        commands = [
            (v["initiative_id"], r.partition)
            for n, v, r in events.events
            if n == "measure_requested"
        ]
        sharing = [i for i, p in commands if i != straggler and p == dict(commands).get(straggler)]
        assert not sharing, f"test assumption broken: {sharing} share the straggler's partition"
        stalls.append(round(seconds, 1))
        _compare(run_id, result, embedded, problems)
        if isinstance(result, str):
            continue
        policy = run_id.removeprefix("deadline-")
        dropped = {"initiative_id": straggler, "stage": "measure", "reason": "deadline exceeded"}
        if (
            result["status"] != ("failed" if policy == "fail" else "completed")
            or result["summary"]["missing"] != [straggler]
            or dropped not in result["failures"]
        ):
            problems.append(f"{run_id}: {result['status']}, {result['summary']}")
        if not DEADLINE_S <= seconds <= DEADLINE_S + 30:
            problems.append(f"{run_id}: ended after {seconds:.1f} s, deadline {DEADLINE_S:.0f} s")

    topic = topic_for("measure_requested", stack.prefix)
    if stuck := stack.owner("measure", topic, 1):
        stack.kill(stuck)  # it waits on the straggler; nothing to wait for at teardown
    record_fault(
        FaultRow(
            "measure result never arrives",
            f"a measure hangs on one initiative; deadline {DEADLINE_S:.0f} s, fail and proceed",
            len(runs),
            sum(kafka_run[1].delivery()[0] for kafka_run in kafka_runs),
            sum(kafka_run[1].delivery()[1] for kafka_run in kafka_runs),
            max(stalls),
            None,
            extra={"problems": len(problems)},
        )
    )
    assert not problems, "\n".join(problems)
