"""The run lifecycle through the orchestrator service on a real broker, with a clock the
test sets: phases that wait for people for days survive a restart (the run is rebuilt from
the changelog) and end when their deadline in days passes, by the run's policy."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from impact_orchestrator.commands import Command
from impact_orchestrator.executor import ComponentExecutor
from impact_orchestrator.lifecycle import DAY_S
from impact_orchestrator.manifest import Catalogs, load_manifest
from impact_orchestrator.service import Orchestrator, Settings, build_service
from impact_runtime import JsonCodec, Service

from runtime.tests.kafka_io import CommittedReader, produce, read_all
from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.kafka_settings import settings_for
from services.orchestrator.tests.test_embedded_fakes import write_manifest
from services.orchestrator.tests.test_service_kafka import envelope
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

START = 1_800_000_000.0
FILE = {"type": "file", "CONFIG": {"path": "/data/pilot.csv"}}
SCALE_DATA = {
    "DATA": {"SOURCE": {"type": "file", "CONFIG": {"path": "/data/scale.csv"}}},
    "MEASUREMENT": {"MODEL": "experiment", "PARAMS": {}},
}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class Run:
    """One run on one orchestrator at a time (a restart is a fresh replica), results
    computed by the fake components and published as the stage services would."""

    def __init__(self, bootstrap: str, catalogs: Catalogs, clock: Clock) -> None:
        self.bootstrap, self.clock = bootstrap, clock
        self.settings: Settings = settings_for(bootstrap)
        self.execute = ComponentExecutor(catalogs)
        self.run_id = "run-" + uuid.uuid4().hex[:8]
        self.answered: dict[str, int] = {}

    def topic(self, event: str) -> str:
        return f"{self.settings.topic_prefix}{event.replace('_', '.')}.v1"

    @asynccontextmanager
    async def orchestrator(self) -> AsyncIterator[Service]:
        service = build_service(self.settings, Orchestrator(self.settings, clock=self.clock))
        service.codec = JsonCodec()
        async with service:
            yield service

    async def send(self, event: str, payload: dict[str, Any]) -> None:
        data = envelope(self.run_id, payload)
        await produce(self.bootstrap, self.topic(event), [(self.run_id, data)])

    async def answer(self, event: str, count: int) -> None:
        """Run the first ``count`` commands of ``event`` not answered yet; publish results."""
        async with CommittedReader(self.bootstrap, self.topic(event)) as reader:
            records = await reader.wait_count(self.answered.get(event, 0) + count)
        for record in records[self.answered.get(event, 0) :]:
            name, result = self.execute(
                Command(event, record.key.decode(), json.loads(record.value))
            )
            await self.send(name, result)
        self.answered[event] = len(records)

    async def status_said(self, start: str) -> str:
        """Wait for a ``run_status`` message starting with ``start``; return it."""
        found: list[str] = []

        async def said() -> bool:
            for record in await read_all(self.bootstrap, self.topic("run_status")):
                message = str(json.loads(record.value)["message"])
                if message.startswith(start):
                    found.append(message)
                    return True
            return False

        await wait_for(said, 60, message=f"no run_status {start!r}")
        return found[0]

    async def completed(self) -> list[dict[str, Any]]:
        return [
            json.loads(r.value) for r in await read_all(self.bootstrap, self.topic("run_completed"))
        ]


def lifecycle_manifest(write_yaml: WriteYaml, catalogs: Catalogs, **keys: Any) -> dict[str, Any]:
    loaded = load_manifest(write_manifest(write_yaml), catalogs=catalogs)
    return loaded.model_copy(update=keys).to_event_payload()


@pytest.fixture
def run(kafka_bootstrap: str, catalogs: Catalogs) -> Run:
    """A run on the broker whose orchestrators read the clock the test sets."""
    return Run(kafka_bootstrap, catalogs, Clock())


async def test_the_approval_deadline_in_days_ends_a_run_restored_while_it_waited(
    run: Run, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    clock = run.clock
    manifest = lifecycle_manifest(write_yaml, catalogs, approval="required", approval_days=3.0)
    async with run.orchestrator():
        await run.send("manifest_submitted", manifest)
        await run.answer("measure_requested", 5)
        await run.answer("evaluate_requested", 4)
        await run.answer("allocate_requested", 1)
        said = await run.status_said("awaiting approval")
    assert said == (
        f"awaiting approval: 3 selected; impact approve {run.run_id} [--drop ID] or "
        f"impact reject {run.run_id}"
    )
    async with run.orchestrator():  # a fresh replica: only the changelog knows the run
        clock.now = START + 3 * DAY_S - 60
        await asyncio.sleep(2.0)  # ten ticks: not due yet
        assert await run.completed() == []
        clock.now = START + 3 * DAY_S
        await wait_for(run.completed, 30, message="no run_completed after the deadline")
    [result] = await run.completed()
    assert result["status"] == "completed"
    assert result["reports"] == []
    assert result["summary"]["reason"] == (
        "approval deadline (3 days) passed without a decision; nothing scaled"
    )


async def test_an_amended_run_waits_days_for_scale_data_and_ends_with_what_came(
    run: Run, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    clock = run.clock
    manifest = lifecycle_manifest(write_yaml, catalogs, approval="required", scale_days=10.0)
    for spec in manifest["initiatives"]:  # their data has no scale sample: it comes later
        spec["measure_config"] = {**spec["measure_config"], "DATA": {"SOURCE": FILE}}
    async with run.orchestrator():
        await run.send("manifest_submitted", manifest)
        await run.answer("measure_requested", 5)
        await run.answer("evaluate_requested", 4)
        await run.answer("allocate_requested", 1)
        said = await run.status_said("awaiting approval")
        assert "scale data needed for: a, c, d" in said
        approve = {"action": "approve", "actor": "alice", "note": "no d", "drop": ["d"]}
        await run.send("run_command", {**approve, "initiative_id": None, "measure_config": {}})
        await run.answer("allocate_requested", 1)  # the amendment, without d
        said = await run.status_said("awaiting scale data")
    assert said == "awaiting scale data for: a, c"  # b does not fit the budget left by c, a
    async with run.orchestrator():  # restarted while it waits for people
        clock.now = START + 2 * DAY_S
        scale: dict[str, Any] = {"action": "scale", "actor": "bob", "note": None, "drop": []}
        await run.send("run_command", {**scale, "initiative_id": "c", "measure_config": SCALE_DATA})
        await run.answer("measure_requested", 1)
        clock.now = START + 10 * DAY_S
        await wait_for(run.completed, 30, message="no run_completed after the scale deadline")
    [result] = await run.completed()
    assert [r["initiative_id"] for r in result["reports"]] == ["c"]
    assert result["reports"][0]["actual_return"] == 2.0  # the fake's scale effect of c
    assert result["summary"]["missing"] == ["a"]
    assert result["summary"]["reason"] == (
        "amended by alice: no d; dropped d; scale deadline (10 days) passed; missing: a"
    )
