"""Fault suite (j): handling that outlasts the consumer's max poll interval (issue 26).

aiokafka leaves the group once ``max_poll_interval_ms`` passes without a ``getmany``; a
batch of slow measurements used to be handled without one, so the replica left, its
commit was refused (``ownership_lost``), the batch was replayed and left again, for ever.
The runtime now keeps polling its paused partitions while a batch is handled (decision
0079), and a handler slower than ``IMPACT_HANDLER_TIMEOUT_S`` ends its initiative with
``stage_failed`` instead of holding the partition.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from impact_cli.bus import Bus
from impact_orchestrator.manifest import Manifest

from tests.support.fault_components import MEASURE_DELAY_ENV
from tests.support.fault_manifests import cohort, embedded_outcome, outcome
from tests.support.fault_runs import RunEvents, RunWatch, wait_consumed
from tests.support.faults import SERVICE_INPUTS, FaultRow, FaultStack, record_fault
from tests.support.faults import start_stack as start

pytestmark = [pytest.mark.integration, pytest.mark.faults]

#: The issue's scaled-down reproduction: 12 measurements of ~2-4 s each with an 8 s poll
#: interval. Each measurement sleeps instead of fitting 100,000 products: the same wall
#: time without taking the 2 shared cores from the broker and the other services.
N = 12
MEASURE_S = 3.0
POLL_INTERVAL_MS = 8000
HANDLER_TIMEOUT_S = 20.0
RUN_TIMEOUT_S = 150.0
SHORT_INTERVAL = {
    MEASURE_DELAY_ENV: str(MEASURE_S),
    "IMPACT_MAX_POLL_INTERVAL_MS": str(POLL_INTERVAL_MS),
    "IMPACT_HANDLER_TIMEOUT_S": str(HANDLER_TIMEOUT_S),
}
NO_CACHE = {"component": "PacedMeasure", "cache": False}


@pytest.fixture(scope="module")
def stack(
    kafka_bootstrap: str, schema_registry_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultStack]:
    logs = tmp_path_factory.mktemp("long")
    services = start(kafka_bootstrap, schema_registry_url, logs, {}, env=SHORT_INTERVAL)
    yield services
    services.stop()


async def _run(
    stack: FaultStack, bootstrap: str, registry: str, manifest: Manifest, run_id: str
) -> tuple[dict[str, Any], RunEvents, RunWatch]:
    bus = Bus(bootstrap, registry, stack.prefix)
    try:
        async with RunWatch(bootstrap, bus.codec, stack.prefix, run_id) as watch:
            await bus.publish_manifest(manifest.to_event_payload(), run_id)
            run = await watch.finished(RUN_TIMEOUT_S, alive=stack)
        await wait_consumed(bootstrap, stack.prefix, list(SERVICE_INPUTS))
        events = await RunEvents.read(bootstrap, bus.codec, stack.prefix, run_id)
    finally:
        await bus.close()
    return run, events, watch


def _ownership_lost(stack: FaultStack) -> int:
    return sum(
        line.get("event") == "ownership_lost"
        for name in stack.names("measure")
        for line in stack.log_lines(name)
    )


async def test_a_batch_longer_than_the_poll_interval_is_delivered_once(
    stack: FaultStack, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    manifest = cohort(tmp_path, N, measure=NO_CACHE)
    run_id = "long-batch"
    expected = await embedded_outcome(manifest, run_id)
    started = time.monotonic()
    run, events, watch = await _run(stack, kafka_bootstrap, schema_registry_url, manifest, run_id)
    lost, duplicated = events.delivery()
    record_fault(
        FaultRow(
            "long batch",
            f"{N} measurements of {MEASURE_S:.0f} s in one batch (result cache off, one "
            f"measure replica), max poll interval {POLL_INTERVAL_MS / 1000:.0f} s",
            1,
            lost,
            duplicated,
            watch.longest_stall(),
            extra={"seconds": round(time.monotonic() - started, 1)},
        )
    )
    assert outcome(run) == expected
    assert (lost, duplicated) == (0, 0)
    assert len(events.named("run_completed")) == 1
    assert _ownership_lost(stack) == 0


async def test_a_handler_over_its_time_limit_fails_its_initiative(
    stack: FaultStack, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    slow = {"component": "SlowMeasure", "slow_for": ["i001"], "slow_s": 3 * HANDLER_TIMEOUT_S}
    manifest = cohort(tmp_path, 4, measure=slow)
    run_id = "long-handler-limit"
    run, events, watch = await _run(stack, kafka_bootstrap, schema_registry_url, manifest, run_id)
    lost, duplicated = events.delivery()
    [failed] = events.named("stage_failed")
    record_fault(
        FaultRow(
            "handler over its time limit",
            f"one measurement of {3 * HANDLER_TIMEOUT_S:.0f} s, "
            f"IMPACT_HANDLER_TIMEOUT_S={HANDLER_TIMEOUT_S:.0f}",
            1,
            lost,
            duplicated,
            watch.longest_stall(),
        )
    )
    assert (failed["initiative_id"], failed["error_type"]) == ("i001", "HandlerTimedOut")
    assert f"{HANDLER_TIMEOUT_S:g} s" in failed["reason"]
    assert [f["initiative_id"] for f in run["failures"]] == ["i001"]
    assert (lost, duplicated) == (0, 0)
    assert len(events.named("run_completed")) == 1


#: "Default-shaped": every setting at its default (batches of 50, the result cache on, the
#: 30 min handler limit, the 10 s session) except the poll interval, lowered from 5 min to
#: 10 s so that one measurement longer than it fits in a test: aiokafka's leave depends
#: only on the time without a poll against the interval, so 15 s against 10 s is the
#: same fault as 7.5 min against the default 5 min.
DEFAULT_SHAPED_INTERVAL_MS = 10_000
ONE_LONG_S = 15.0


@pytest.fixture
def default_stack(
    kafka_bootstrap: str, schema_registry_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultStack]:
    logs = tmp_path_factory.mktemp("long-default")
    env = {"IMPACT_MAX_POLL_INTERVAL_MS": str(DEFAULT_SHAPED_INTERVAL_MS)}
    services = start(kafka_bootstrap, schema_registry_url, logs, {}, env=env)
    yield services
    services.stop()


async def test_one_measurement_longer_than_the_poll_interval_at_default_settings(
    default_stack: FaultStack, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    slow = {"component": "SlowMeasure", "slow_for": ["i002"], "slow_s": ONE_LONG_S}
    manifest = cohort(tmp_path, 6, measure=slow)
    run_id = "long-one-default"
    expected = await embedded_outcome(manifest, run_id)
    started = time.monotonic()
    run, events, watch = await _run(
        default_stack, kafka_bootstrap, schema_registry_url, manifest, run_id
    )
    lost, duplicated = events.delivery()
    record_fault(
        FaultRow(
            "one measurement longer than the poll interval",
            f"one measurement of {ONE_LONG_S:.0f} s, every setting at its default but the poll "
            f"interval ({DEFAULT_SHAPED_INTERVAL_MS / 1000:.0f} s)",
            1,
            lost,
            duplicated,
            watch.longest_stall(),
            extra={"seconds": round(time.monotonic() - started, 1)},
        )
    )
    assert outcome(run) == expected
    assert run["failures"] == []
    assert (lost, duplicated) == (0, 0)
    assert len(events.named("run_completed")) == 1
    assert _ownership_lost(default_stack) == 0
