"""The measure result cache on the real broker, with two measure replicas sharing one
storage root: they fill it with the bytes embedded mode writes, and a budget-only re-run
measures nothing, says so in run_completed and in ``impact status``, and reports what a
cold embedded run reports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from impact_cli.main import app
from impact_cli.processes import ServiceProcesses
from impact_measure.cache import CACHE_DIR
from impact_observe.bus import Bus
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.manifest import load_manifest
from typer.testing import CliRunner

from tests.integration.stack import run_on_kafka, running, service_stack
from tests.integration.test_pipeline import EXAMPLE

pytestmark = pytest.mark.integration

PILOTS = 8
SELECTED_AT_75K = [
    "loyalty-opt-in",
    "pricing-display-launch",
    "regional-promo",
    "search-relevance-tuning",
]


@pytest.fixture(scope="module")
def services_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services-storage")


@pytest.fixture(scope="module")
def stack(
    kafka_bootstrap: str,
    schema_registry_url: str,
    services_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcesses]:
    logs = tmp_path_factory.mktemp("cache-stack-logs")
    services = service_stack(kafka_bootstrap, schema_registry_url, logs, {"measure": 2})
    services.env["IMPACT_STORAGE_ROOT"] = str(services_root)
    yield from running(services)


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every cache entry: name → (mtime_ns, bytes)."""
    return {
        path.name: (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted((root / CACHE_DIR).rglob("*"))
        if path.is_file()
    }


def without(run: dict[str, Any], *keys: str) -> dict[str, Any]:
    drop = {"run_id", "event_id", "causation_id", "produced_at", "schema_version", *keys}
    return {key: value for key, value in run.items() if key not in drop}


async def test_a_budget_only_rerun_on_kafka_is_served_from_the_cache(
    bus: Bus,
    stack: ServiceProcesses,
    services_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manifest = load_manifest(EXAMPLE)
    cold = await run_on_kafka(bus, manifest, "cache-cold")
    assert cold["cached"] == {}
    filled = snapshot(services_root)
    assert len(filled) == PILOTS + len(cold["reports"]) == 13
    per_replica = stack.processed_by_replica("measure", "measure_requested")
    assert len(per_replica) == 2 and all(n > 0 for n in per_replica.values())  # both filled

    # Embedded mode, in a root of its own, writes the same entries byte for byte.
    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(tmp_path / "embedded"))
    embedded_cold = run_embedded(manifest, run_id="cache-cold")
    assert without(embedded_cold) == without(cold)
    embedded_entries = snapshot(tmp_path / "embedded")
    assert {k: v[1] for k, v in embedded_entries.items()} == {k: v[1] for k, v in filled.items()}

    cheaper = manifest.model_copy(update={"budget": 75_000.0})
    rerun = await run_on_kafka(bus, cheaper, "cache-warm")
    assert [r["initiative_id"] for r in rerun["reports"]] == SELECTED_AT_75K
    assert sum(len(phases) for phases in rerun["cached"].values()) == PILOTS + 4
    assert all(rerun["cached"][i] == ["pilot", "scale"] for i in SELECTED_AT_75K)
    assert snapshot(services_root) == filled  # nothing measured, nothing rewritten
    measured = [v for name, v in await bus.read_run("cache-warm") if name == "measure_completed"]
    assert len(measured) == PILOTS + 4 and all(v["cached"] for v in measured)

    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(tmp_path / "fresh"))
    fresh = run_embedded(cheaper, run_id="cache-warm")
    assert fresh["cached"] == {}
    assert without(rerun, "cached") == without(fresh, "cached")

    connection = ["--bootstrap", bus.bootstrap, "--registry", stack.env["SCHEMA_REGISTRY_URL"]]
    status = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["status", "cache-warm", "--json", *connection, "--prefix", bus.prefix],
    )
    assert status.exit_code == 0, status.output
    shown = json.loads(status.output)
    assert shown["n_cached"] == PILOTS + 4
    assert shown["cached"] == rerun["cached"]
