"""Named runs and the run history on the real stack: a named Kafka run shows its name in
``impact status`` and the dashboard's runs list beside an embedded run from the history,
and ``impact compare`` sets a Kafka run against embedded ones."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from impact_cli.main import app
from impact_dashboard.source import RunSource
from impact_observe.bus import Bus
from impact_orchestrator.history import RunHistory
from impact_orchestrator.manifest import load_manifest
from typer.testing import CliRunner

from tests.integration.stack import ROOT, completed, module_stack

pytestmark = pytest.mark.integration

RUN_TIMEOUT_S = 300
EXAMPLE = ROOT / "examples" / "manifest.yaml"


stack = module_stack("history-logs")


def impact(bus: Bus, registry: str, *args: str) -> str:
    connection = ["--bootstrap", bus.bootstrap, "--registry", registry, "--prefix", bus.prefix]
    result = CliRunner().invoke(app, [*args, *connection], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def impact_local(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


async def test_a_named_kafka_run_beside_embedded_runs(
    bus: Bus, schema_registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPACT_HISTORY_DIR", str(tmp_path / "runs"))
    manifest = load_manifest(EXAMPLE).model_copy(update={"budget": 75_000.0, "name": "Q4 at 75k"})
    run_id = await bus.publish_manifest(manifest.to_event_payload())
    run = await completed(bus, run_id, RUN_TIMEOUT_S)
    assert run["status"] == "completed"

    status = json.loads(
        await asyncio.to_thread(impact, bus, schema_registry_url, "status", run_id, "--json")
    )
    assert (status["run_id"], status["name"], status["status"]) == (
        run_id,
        "Q4 at 75k",
        "completed",
    )
    text = await asyncio.to_thread(impact, bus, schema_registry_url, "status", run_id)
    assert text.splitlines()[0] == f"run {run_id} (Q4 at 75k): completed"

    # the same manifest embedded, and the example at 100,000, both in the history
    examples = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", examples)
    same_file = examples / "same.yaml"
    same_file.write_text(
        EXAMPLE.read_text().replace("budget: 100000 ", "name: Q4 at 75k\nbudget: 75000 ")
    )
    same = json.loads(await asyncio.to_thread(impact_local, "run", str(same_file), "--json"))
    bigger = json.loads(await asyncio.to_thread(impact_local, "run", str(EXAMPLE), "--json"))

    def compare(a: str, b: str) -> dict[str, Any]:
        output = impact(bus, schema_registry_url, "compare", a, b, "--json")
        return dict(json.loads(output))

    identical = await asyncio.to_thread(compare, run_id, same["run_id"])
    assert (identical["added"], identical["removed"]) == ([], [])
    assert identical["budget_change"] == 0.0 and identical["allocated_change"] == 0.0
    assert identical["predicted_change"] == pytest.approx(0.0, abs=1e-9)
    assert all(row["predicted_change"] == pytest.approx(0.0, abs=1e-9)
               for row in identical["initiatives"])  # fmt: skip
    assert identical["a"]["name"] == identical["b"]["name"] == "Q4 at 75k"

    grown = await asyncio.to_thread(compare, run_id, bigger["run_id"])
    assert grown["budget_change"] == 25_000.0
    assert (grown["added"], grown["removed"]) == (["product-desc-enhancement"], [])
    assert grown["allocated_change"] == 20_000.0
    assert grown["b"]["predicted"] == pytest.approx(bigger["summary"]["total_predicted_return"])
    assert grown["a"]["predicted"] == pytest.approx(run["summary"]["total_predicted_return"])

    rows = await RunSource(bus, history=RunHistory()).runs()
    seen = {(r.run_id, r.name, r.mode, r.status) for r in rows}
    assert (run_id, "Q4 at 75k", "kafka", "completed") in seen
    assert (same["run_id"], "Q4 at 75k", "embedded", "completed") in seen
    assert (bigger["run_id"], None, "embedded", "completed") in seen

    page = tmp_path / "embedded.html"
    said = await asyncio.to_thread(
        impact, bus, schema_registry_url, "report", bigger["run_id"], "--html", str(page)
    )
    assert said.strip() == f"wrote {page} (run {bigger['run_id']}: completed)"
    kafka_page = tmp_path / "kafka.html"
    await asyncio.to_thread(
        impact, bus, schema_registry_url, "report", run_id, "--html", str(kafka_page)
    )
    assert "<title>Outcome report Q4 at 75k" in kafka_page.read_text()
