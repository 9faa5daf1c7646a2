"""Fault suite (b, c, g): infrastructure that goes away mid-run and comes back.

(b) the broker stopped >= 20 s and restarted on its data; (c) the schema registry down
>= 30 s; (g) ``impact down`` then ``impact up``. Each run must complete exactly as in
embedded mode, lose and duplicate nothing, and no valid event may sit in any DLQ: a
dependency that is down is waited out, never a reason to dead-letter or to crash.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from impact_observe.bus import Bus
from impact_orchestrator.manifest import Manifest

from tests.support.fault_components import MEASURE_DELAY_ENV
from tests.support.fault_manifests import cohort, embedded_outcome, outcome
from tests.support.fault_processes import LocalBroker, RegistryProcess
from tests.support.fault_runs import RunEvents, dlq_records, wait_consumed
from tests.support.fault_watch import RunWatch
from tests.support.faults import (
    PLUGINS,
    ROOT,
    SERVICE_INPUTS,
    start_stack,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]

BROKER_DOWN_S = 20.0
REGISTRY_DOWN_S = 30.0
RUN_TIMEOUT_S = 180.0
PACED = {MEASURE_DELAY_ENV: "0.2"}
REPLICAS = {"measure": 2, "evaluate": 2}


async def _run_through(
    row: tuple[str, str],
    bootstrap: str,
    registry_url: str,
    prefix: str,
    manifest: Manifest,
    run_id: str,
    fault: Callable[[], Awaitable[None]],
    alive: Callable[[], list[str]],
) -> None:
    """Publish, inject ``fault`` once the run has measured something, follow it to its end;
    then check its delivery (``_check_delivery``), record ``row`` (fault, what was done)
    with the longest stall after the fault, and require nothing lost or duplicated."""
    embedded = asyncio.create_task(embedded_outcome(manifest, run_id))
    bus = Bus(bootstrap, registry_url, prefix)
    try:
        async with RunWatch(bootstrap, bus.codec, prefix, run_id) as watch:
            await bus.publish_manifest(manifest.to_event_payload(), run_id)
            await watch.until(lambda w: w.progress.get("measure", 0) >= 1, 120, "a first result")
            fault_at = time.monotonic()
            await fault()
            await watch.until(lambda w: bool(w.completed or alive()), RUN_TIMEOUT_S, "the end")
            assert not alive(), f"processes exited during or after the fault: {alive()}"
            run = watch.completed[0]
        assert outcome(run) == await embedded
    finally:
        await bus.close()
        embedded.cancel()
    events = await _check_delivery(bootstrap, registry_url, prefix, run_id)
    lost, duplicated = events.record(*row, 1, watch.longest_stall(after=fault_at))
    assert (lost, duplicated) == (0, 0)


async def _check_delivery(
    bootstrap: str, registry_url: str, prefix: str, run_id: str, groups: str | None = None
) -> RunEvents:
    """No DLQ record at all; every group caught up; the run's events, with exactly one
    ``run_completed``."""
    dead_letters = await dlq_records(bootstrap, prefix)
    reasons = [r.headers.get("dlq.reason", b"").decode()[:200] for r in dead_letters]
    assert reasons == [], f"valid events dead-lettered: {reasons}"
    await wait_consumed(bootstrap, prefix, list(SERVICE_INPUTS), group_prefix=groups)
    bus = Bus(bootstrap, registry_url, prefix)
    try:
        events = await RunEvents.read(bootstrap, bus.codec, prefix, run_id)
    finally:
        await bus.close()
    assert len(events.named("run_completed")) == 1
    return events


async def test_broker_stopped_mid_run_restarts_on_its_data(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    logs = tmp_path_factory.mktemp("broker-outage")
    with ExitStack() as cleanup:
        broker = LocalBroker(logs / "kafka").start()
        cleanup.callback(broker.stop, keep_data=False)
        registry = RegistryProcess(broker.bootstrap, "_schemas", logs).start()
        cleanup.callback(registry.stop)
        stack = start_stack(broker.bootstrap, registry.url, logs, REPLICAS, env=PACED)
        cleanup.callback(stack.stop)

        async def outage() -> None:
            await asyncio.to_thread(broker.stop)
            await asyncio.sleep(BROKER_DOWN_S)  # the fault itself: the broker stays down
            await asyncio.to_thread(broker.start)

        def exited() -> list[str]:
            return stack.dead() + ([] if registry.alive else ["registry"])

        row = (
            "broker outage",
            f"broker stopped {BROKER_DOWN_S:.0f} s mid-run, restarted on its data",
        )
        await _run_through(
            row,
            broker.bootstrap,
            registry.url,
            stack.prefix,
            cohort(tmp_path, 50),
            "broker-outage",
            outage,
            exited,
        )


async def test_registry_down_mid_run_is_waited_out(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    logs = tmp_path_factory.mktemp("registry-outage")
    with ExitStack() as cleanup:
        registry = RegistryProcess(kafka_bootstrap, f"_schemas-{uuid.uuid4().hex[:8]}", logs)
        registry.start()
        cleanup.callback(registry.stop)
        stack = start_stack(kafka_bootstrap, registry.url, logs, REPLICAS, env=PACED)
        cleanup.callback(stack.stop)

        async def outage() -> None:
            registry.stop()  # SIGKILL, before any evaluate replica has read a schema
            await asyncio.sleep(REGISTRY_DOWN_S)  # the fault itself: the registry stays down
            await asyncio.to_thread(registry.start)

        what = f"schema registry SIGKILLed, down {REGISTRY_DOWN_S:.0f} s mid-run, restarted"
        await _run_through(
            ("registry outage", what),
            kafka_bootstrap,
            registry.url,
            stack.prefix,
            cohort(tmp_path, 50),
            "registry-outage",
            outage,
            stack.dead,
        )


def _impact(env: dict[str, str], *args: str) -> str:
    impact = Path(sys.executable).parent / "impact"
    done = subprocess.run(
        [str(impact), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (
        f"impact {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    )
    return done.stdout


async def test_impact_down_then_up_mid_run_completes_identical(tmp_path: Path) -> None:
    stack_dir = tmp_path / "stack"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL")
    }
    env.update(
        IMPACT_STACK_DIR=str(stack_dir),
        IMPACT_PLUGINS=PLUGINS,
        PYTHONPATH=str(ROOT),
        **PACED,
    )
    replicas = ["--measure", "2", "--evaluate", "2"]

    def state() -> dict[str, str]:
        return dict(json.loads((stack_dir / "state.json").read_text()))

    run_id = "down-up"
    manifest = cohort(tmp_path, 50)
    embedded = asyncio.create_task(embedded_outcome(manifest, run_id))
    await asyncio.to_thread(_impact, env, "up", *replicas)
    try:
        before = state()
        bus = Bus(before["bootstrap"], before["registry_url"])
        try:
            async with RunWatch(bus.bootstrap, bus.codec, "impact.", run_id) as watch:
                await bus.publish_manifest(manifest.to_event_payload(), run_id)
                await watch.until(lambda w: w.progress.get("measure", 0) >= 5, 120, "5 results")
                seen = watch.units()
        finally:
            await bus.close()
        down_at = time.monotonic()
        await asyncio.to_thread(_impact, env, "down")
        await asyncio.to_thread(_impact, env, "up", *replicas)
        after = state()
        bus = Bus(after["bootstrap"], after["registry_url"])
        try:
            kept = await RunEvents.read(bus.bootstrap, bus.codec, "impact.", run_id)
            assert kept.named("manifest_submitted"), "the run's events are gone after down + up"
            async with RunWatch(bus.bootstrap, bus.codec, "impact.", run_id) as watch:
                await watch.until(lambda w: w.units() > seen, RUN_TIMEOUT_S, "progress after up")
                resumed_after = time.monotonic() - down_at
                run = await watch.finished(RUN_TIMEOUT_S)
            assert outcome(run) == await embedded
            events = await _check_delivery(
                bus.bootstrap, after["registry_url"], "impact.", run_id, groups="impact-"
            )
        finally:
            await bus.close()
    finally:
        await asyncio.to_thread(_impact, env, "down")
        embedded.cancel()
    lost, duplicated = events.record(
        "impact down + up",
        "`impact down` then `impact up` while a run is in flight",
        1,
        round(max(resumed_after, watch.longest_stall()), 1),
    )
    assert (lost, duplicated) == (0, 0)
