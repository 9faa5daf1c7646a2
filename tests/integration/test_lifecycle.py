"""The run lifecycle end to end: the services as processes on a broker of their own, the
decisions sent with the ``impact`` CLI.

A run pauses for approval, survives a SIGKILL of its orchestrator while it waits, is
approved with an amendment (one initiative dropped, the portfolio re-allocated), gets the
scale data of its two CSV initiatives in two later commands (the second after a broker
restart) and completes with the report embedded mode gives for the same decisions. A
second run is rejected from its dashboard page. A third waits for its approval across
``impact down`` and ``impact up``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from impact_cli.main import app
from impact_cli.measure import load_config
from impact_observe.bus import Bus
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.manifest import Manifest, load_manifest
from typer.testing import CliRunner

from tests.integration.test_faults_outages import _impact
from tests.support.fault_manifests import cohort, initiative, outcome
from tests.support.fault_processes import LocalBroker, RegistryProcess
from tests.support.faults import (
    PLUGINS,
    ROOT,
    start_stack,
    wait_until,
)
from tests.support.kafka import unused_port

pytestmark = [pytest.mark.integration]

RUN_TIMEOUT_S = 240.0
PILOT_CSV = ROOT / "examples" / "data" / "retail_pilot.csv"
SCALE_CSV = ROOT / "examples" / "data" / "retail_scale.csv"
PARAMS = {
    "outcome_column": "revenue",
    "treatment_column": "treated",
    "covariate_columns": ["baseline_revenue"],
}


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A folder inside the services' data root (the checkout) for manifests and configs."""
    path = ROOT / "var" / f"lifecycle-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def csv_initiative(name: str, cost: float) -> dict[str, Any]:
    """A CSV pilot without scale data: its scale measurement needs ``impact scale``."""
    source = {"type": "file", "CONFIG": {"path": str(PILOT_CSV)}}
    config = {"DATA": {"SOURCE": source}, "MEASUREMENT": {"MODEL": "experiment", "PARAMS": PARAMS}}
    return {"initiative_id": name, "cost_to_scale": cost, "measure_config": config}


def lifecycle_manifest(directory: Path) -> Manifest:
    """Four simulated initiatives and two CSV ones; budget 16,000 takes csv-a, csv-b and
    i002 (the pilots' ranking), so dropping i002 re-allocates what it held."""
    items = [initiative(i) for i in range(4)]
    items += [csv_initiative("csv-a", 2000.0), csv_initiative("csv-b", 3000.0)]
    document = {
        "budget": 16_000.0,
        "scale_sample_size": 240,
        "seed": 20261125,
        "approval": "required",
        "ALLOCATE": {"rule": "minimax_regret"},  # the selection below is minimax regret's
        "INITIATIVES": items,
    }
    path = directory / "manifest.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return load_manifest(path, data_root=ROOT)


def scale_config(directory: Path) -> Path:
    path = directory / "scale.yaml"
    source = {"type": "file", "CONFIG": {"path": str(SCALE_CSV)}}
    config = {"DATA": {"SOURCE": source}, "MEASUREMENT": {"MODEL": "experiment", "PARAMS": PARAMS}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


async def said(bus: Bus, run_id: str, start: str) -> str:
    """The first ``run_status`` message of the run that starts with ``start``."""
    async for _, value in bus.follow(run_id, ["run_status"], timeout_s=RUN_TIMEOUT_S):
        if str(value["message"]).startswith(start):
            return str(value["message"])
    raise AssertionError(f"run {run_id}: no run_status {start!r} in {RUN_TIMEOUT_S:.0f} s")


async def measured_at_scale(bus: Bus, run_id: str, initiative_id: str) -> None:
    async for _, value in bus.follow(run_id, ["measure_completed"], timeout_s=RUN_TIMEOUT_S):
        if value["phase"] == "scale" and value["initiative_id"] == initiative_id:
            return
    raise AssertionError(f"run {run_id}: {initiative_id} was not measured at scale")


async def completed(bus: Bus, run_id: str) -> dict[str, Any]:
    async for _, value in bus.follow(run_id, ["run_completed"], timeout_s=RUN_TIMEOUT_S):
        return value
    raise AssertionError(f"run {run_id} did not complete within {RUN_TIMEOUT_S:.0f} s")


async def impact(bus: Bus, registry: str, *args: str) -> str:
    connection = ["--bootstrap", bus.bootstrap, "--registry", registry, "--prefix", bus.prefix]
    result = await asyncio.to_thread(CliRunner().invoke, app, [*args, *connection])
    assert result.exit_code == 0, result.output
    return result.output


@contextmanager
def dashboard(bus: Bus, registry: str, logs: Path) -> Iterator[str]:
    """``impact ui`` on a free port; its base URL."""
    port = unused_port()
    command = [str(Path(sys.executable).parent / "impact"), "ui", "--port", str(port)]
    command += ["--bootstrap", bus.bootstrap, "--registry", registry, "--prefix", bus.prefix]
    with (logs / "ui.log").open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _healthy(base), 60, "impact ui did not answer /healthz")
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def test_a_run_waits_for_people_across_restarts_and_ends_as_embedded(
    tmp_path_factory: pytest.TempPathFactory, workdir: Path
) -> None:
    logs = tmp_path_factory.mktemp("lifecycle")
    manifest = lifecycle_manifest(workdir)
    scale = scale_config(workdir)
    data = load_config(scale, ROOT)
    decisions: list[dict[str, Any]] = [
        {"action": "approve", "actor": "alice", "drop": ["i002"], "note": "i002 is late"},
        {"action": "scale", "actor": "alice", "initiative_id": "csv-a", "measure_config": data},
        {"action": "scale", "actor": "alice", "initiative_id": "csv-b", "measure_config": data},
    ]
    embedded = asyncio.create_task(
        asyncio.to_thread(run_embedded, manifest, run_id="amend", decisions=decisions)
    )
    with ExitStack() as cleanup:
        broker = LocalBroker(logs / "kafka").start()
        cleanup.callback(broker.stop, keep_data=False)
        registry = RegistryProcess(broker.bootstrap, "_schemas", logs).start()
        cleanup.callback(registry.stop)
        stack = start_stack(broker.bootstrap, registry.url, logs, {})
        cleanup.callback(stack.stop)
        bus = Bus(broker.bootstrap, registry.url, stack.prefix)
        try:
            await bus.publish_manifest(manifest.to_event_payload(), "amend")
            waiting = await said(bus, "amend", "awaiting approval")
            assert waiting.startswith("awaiting approval: 3 selected; scale data needed for: ")
            assert "csv-a, csv-b" in waiting

            stack.kill("orchestrator-0")  # SIGKILL while the run waits for people
            stack.restart("orchestrator-0")
            await asyncio.to_thread(wait_until, lambda: stack.settled(6), 240, "no restart")
            by_alice = ["--by", "alice", "--data-root", str(ROOT)]
            approve = ["approve", "amend", "--drop", "i002", "--note", "i002 is late"]
            await impact(bus, registry.url, *approve, "--by", "alice")
            assert await said(bus, "amend", "awaiting scale data") == (
                "awaiting scale data for: csv-a, csv-b"
            )

            await impact(bus, registry.url, "scale", "amend", "csv-a", str(scale), *by_alice)
            await measured_at_scale(bus, "amend", "csv-a")
            await asyncio.to_thread(broker.stop)  # the broker restarts on its data
            await asyncio.to_thread(broker.start)
            await impact(bus, registry.url, "scale", "amend", "csv-b", str(scale), *by_alice)
            run = await completed(bus, "amend")
        finally:
            await bus.close()
        assert run["status"] == "completed"
        assert run["summary"]["reason"] == "amended by alice: i002 is late; dropped i002"
        assert {"csv-a", "csv-b"} <= {r["initiative_id"] for r in run["reports"]}
        assert "i002" not in {r["initiative_id"] for r in run["reports"]}
        assert outcome(run) == outcome(await embedded)

        bus = Bus(broker.bootstrap, registry.url, stack.prefix)
        try:
            await bus.publish_manifest(manifest.to_event_payload(), "rejected")
            await said(bus, "rejected", "awaiting approval")
            with dashboard(bus, registry.url, logs) as base:  # rejected from its page
                async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                    page = (await client.get("/runs/rejected")).text
                    assert 'action="rejected/reject"' in page
                    kept = re.findall(r'name="keep" value="([^"]+)"', page)
                    assert sorted(kept) == ["csv-a", "csv-b", "i002"]
                    form = {"note": "not now", "by": "bob"}
                    answer = await client.post("/runs/rejected/reject", data=form)
                    assert answer.status_code == 303, answer.text
                    rejected = await completed(bus, "rejected")
                    page = (await client.get("/runs/rejected")).text
                    assert 'action="rejected/reject"' not in page
        finally:
            await bus.close()
        assert rejected["status"] == "completed" and rejected["reports"] == []
        assert rejected["summary"]["reason"] == "rejected by bob: not now"
        assert rejected["summary"]["total_budget_allocated"] == 0.0


async def test_a_run_awaiting_approval_survives_impact_down_and_up(tmp_path: Path) -> None:
    """``impact down`` while the run waits for its approval, ``impact up``, approve: it
    completes as embedded mode does with the same decision."""
    stack_dir = tmp_path / "stack"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL")
    }
    env.update(IMPACT_STACK_DIR=str(stack_dir), IMPACT_PLUGINS=PLUGINS, PYTHONPATH=str(ROOT))
    manifest = cohort(tmp_path, 6, approval="required")
    approve = {"action": "approve", "actor": "carol", "note": "go"}
    expected = asyncio.create_task(
        asyncio.to_thread(run_embedded, manifest, run_id="down-up", decisions=[approve])
    )

    def connection() -> list[str]:
        state = json.loads((stack_dir / "state.json").read_text())
        return ["--bootstrap", state["bootstrap"], "--registry", state["registry_url"]]

    await asyncio.to_thread(_impact, env, "up")
    try:
        bootstrap, registry = connection()[1], connection()[3]
        bus = Bus(bootstrap, registry)
        try:
            await bus.publish_manifest(manifest.to_event_payload(), "down-up")
            await said(bus, "down-up", "awaiting approval")
        finally:
            await bus.close()
        await asyncio.to_thread(_impact, env, "down")
        await asyncio.to_thread(_impact, env, "up")
        await asyncio.to_thread(
            _impact, env, "approve", "down-up", "--by", "carol", "--note", "go", *connection()
        )
        bus = Bus(*connection()[1::2])
        try:
            run = await completed(bus, "down-up")
        finally:
            await bus.close()
    finally:
        await asyncio.to_thread(_impact, env, "down")
    assert run["summary"]["reason"] == "approved by carol: go"
    assert run["reports"]
    assert outcome(run) == outcome(await expected)
