"""The orchestrator service on the in-memory FakeBus: same report as embedded mode, and
every state change written to the changelog."""

from __future__ import annotations

from typing import Any

from impact_orchestrator import run_embedded
from impact_orchestrator.changelog_restore import restore_runs
from impact_orchestrator.manifest import Catalogs, load_manifest
from impact_orchestrator.service import Orchestrator, Settings

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakebus_run import drive, orchestrator_bus
from services.orchestrator.tests.test_embedded_fakes import write_manifest

CHANGELOG = "impact.orchestrator.changelog"


async def test_service_report_equals_the_embedded_report(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    manifest = load_manifest(write_manifest(write_yaml), catalogs=catalogs)
    bus, orchestrator = await orchestrator_bus()
    await drive(bus, manifest, catalogs)
    completed = bus.events("run_completed")
    assert len(completed) == 1
    report = {
        k: completed[0][k] for k in ("status", "reports", "pilots", "cached", "failures", "summary")
    }
    assert report == run_embedded(manifest, catalogs=catalogs, run_id="r9")
    changelog = {p.key: p.value for p in bus.produced if p.topic == CHANGELOG}  # compacted
    restored = restore_runs(v for v in changelog.values() if v is not None).states
    assert restored == orchestrator.store.states and list(restored) == ["r9"]
    assert restored["r9"].done and restored["r9"].result == report


async def test_results_of_unknown_runs_and_duplicate_manifests_produce_nothing() -> None:
    orchestrator = Orchestrator(Settings(bootstrap_servers="127.0.0.1:9"))
    value: dict[str, Any] = {"run_id": "nobody", "initiative_id": "a", "phase": "pilot"}
    assert orchestrator.store.handle("measure_completed", value, 0, 0.0) is None
    assert orchestrator.tick(0.0) == []
