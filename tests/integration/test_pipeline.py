"""The whole pipeline on the real broker and registry, services as separate processes.

Two measure and two evaluate replicas share the work; every report must equal the
embedded-mode report for the same manifest and run id.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from impact_cli.main import app
from impact_cli.processes import ServiceProcesses
from impact_observe.bus import Bus
from impact_observe.lineage import HOPS
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.manifest import Manifest, load_manifest
from impact_schemas.catalog import topic_for
from typer.testing import CliRunner

from tests.integration.stack import ROOT, completed, module_stack, outcome, run_on_kafka
from tests.support.resend import echo_records, replay_all, wait_until_consumed

pytestmark = pytest.mark.integration

EXAMPLE = ROOT / "examples" / "manifest.yaml"
RUN_TIMEOUT_S = 240.0


stack = module_stack("stack-logs", {"measure": 2, "evaluate": 2})


def embedded(manifest: Manifest, run_id: str) -> dict[str, Any]:
    return outcome(run_embedded(manifest, run_id=run_id))


FULL_CHAIN = list(HOPS)
UNSELECTED_CHAIN = FULL_CHAIN[:7] + FULL_CHAIN[-1:]


async def test_example_manifest_matches_embedded_mode(bus: Bus, schema_registry_url: str) -> None:
    registry_url = schema_registry_url
    manifest = load_manifest(EXAMPLE)
    run = await run_on_kafka(bus, manifest, "example-run")
    assert run["status"] == "completed"
    assert len(run["reports"]) >= 2
    assert outcome(run) == embedded(manifest, "example-run")

    # `impact tail RUN --json` prints the same report for machines.
    connection = ["--bootstrap", bus.bootstrap, "--registry", registry_url, "--prefix", bus.prefix]
    tailed = await asyncio.to_thread(
        CliRunner().invoke, app, ["tail", "example-run", "--json", "--timeout", "60", *connection]
    )
    assert tailed.exit_code == 0, tailed.output
    assert outcome(json.loads(tailed.output)) == outcome(run)

    # `impact status RUN --lineage` links every hop of every initiative.
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        [
            "status",
            "example-run",
            "--lineage",
            "--json",
            "--bootstrap",
            bus.bootstrap,
            "--registry",
            registry_url,
            "--prefix",
            bus.prefix,
        ],
    )
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["status"] == "completed"
    # finished stages say so: "8/8 done", not "8/8 running"
    labels = {stage: text.split(" ", 1)[1] for stage, text in status["stages"].items()}
    assert labels == {
        "measure": "done", "evaluate": "done", "allocate": "done", "scale": "done",
        "report": "completed",
    }, status["stages"]  # fmt: skip
    selected = {r["initiative_id"] for r in run["reports"]}
    for initiative, hops in status["lineage"].items():
        names = [(h["event"], h["phase"]) for h in hops]
        expected = FULL_CHAIN if initiative in selected else UNSELECTED_CHAIN
        assert names == expected, initiative
        assert all(h["since_cause_ms"] >= 0 for h in hops[1:])


async def test_three_concurrent_runs_complete_independently(
    bus: Bus, stack: ServiceProcesses
) -> None:
    base = load_manifest(EXAMPLE)
    budgets = {"conc-a": 40_000.0, "conc-b": 70_000.0, "conc-c": 150_000.0}
    manifests = {run_id: base.model_copy(update={"budget": b}) for run_id, b in budgets.items()}
    runs = await asyncio.gather(
        *(run_on_kafka(bus, manifest, run_id) for run_id, manifest in manifests.items())
    )
    for (run_id, manifest), run in zip(manifests.items(), runs, strict=True):
        assert run["run_id"] == run_id
        assert run["summary"]["budget"] == budgets[run_id]
        assert run["summary"]["total_budget_allocated"] <= budgets[run_id]
        assert outcome(run) == embedded(manifest, run_id)
    selected = [run["summary"]["n_selected"] for run in runs]
    assert selected == sorted(selected) and selected[0] < selected[-1]

    # The work was split across the replicas of each scaled stage.
    for service, event in (("measure", "measure_requested"), ("evaluate", "evaluate_requested")):
        per_replica = stack.processed_by_replica(service, event)
        assert len(per_replica) == 2, f"{service}: {dict(per_replica)}"
        assert all(count > 0 for count in per_replica.values())


async def test_failed_initiative_is_reported_and_the_run_goes_on(
    bus: Bus, schema_registry_url: str, tmp_path: Path
) -> None:
    raw = yaml.safe_load(EXAMPLE.read_text())
    broken = dict(raw["INITIATIVES"][0])
    broken["initiative_id"] = "broken-column"
    config = _inline_config(broken["measure_config"])
    config["MEASUREMENT"]["PARAMS"]["outcome_column"] = "no_such_column"
    broken["measure_config"] = config
    raw["INITIATIVES"] = [_inline(i) for i in raw["INITIATIVES"][:3]] + [broken]
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(raw))
    manifest = load_manifest(path, data_root=ROOT)

    run = await run_on_kafka(bus, manifest, "failure-run")
    assert run["status"] == "completed"
    failures = {f["initiative_id"]: f for f in run["failures"]}
    assert set(failures) == {"broken-column"}
    assert failures["broken-column"]["stage"] == "measure"
    assert "no_such_column" in failures["broken-column"]["reason"]
    assert run["summary"]["n_evaluated"] == 3
    assert outcome(run) == embedded(manifest, "failure-run")

    # `impact status --lineage`: the failure sits after the request that caused it, before
    # the allocation and the report (events read topic by topic, ordered causally).
    connection = [
        "--bootstrap", bus.bootstrap, "--registry", schema_registry_url, "--prefix", bus.prefix
    ]  # fmt: skip
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["status", "failure-run", "--lineage", "--json", *connection]
    )
    assert result.exit_code == 0, result.output
    hops = json.loads(result.output)["lineage"]["broken-column"]
    assert [(h["event"], h["phase"]) for h in hops] == [
        ("manifest_submitted", None),
        ("measure_requested", "pilot"),
        ("stage_failed", "pilot"),
        ("allocate_completed", None),
        ("run_completed", None),
    ]


async def test_duplicate_and_late_results_change_nothing(
    bus: Bus, stack: ServiceProcesses, kafka_bootstrap: str
) -> None:
    manifest = load_manifest(EXAMPLE)
    run_id = "dup-run"
    results = [topic_for(e, stack.prefix) for e in ("measure_completed", "evaluate_completed")]
    duplicator = asyncio.create_task(echo_records(kafka_bootstrap, results, run_id))
    try:
        run = await run_on_kafka(bus, manifest, run_id)
    finally:
        duplicator.cancel()
        echoed = await asyncio.gather(duplicator, return_exceptions=True)
    assert outcome(run) == embedded(manifest, run_id)

    # Late: every result of the finished run once more, after run_completed.
    late = await replay_all(kafka_bootstrap, results, run_id)
    assert late >= 2 * len(manifest.initiatives)
    await wait_until_consumed(kafka_bootstrap, f"{stack.prefix}orchestrator", results)
    completions = [
        value
        for name, value in await bus.read_run(run_id, ["run_completed"])
        if name == "run_completed"
    ]
    assert len(completions) == 1, f"{len(completions)} run_completed events (echoed {echoed})"
    assert outcome(completions[0]) == outcome(run)


def _inline(initiative: dict[str, Any]) -> dict[str, Any]:
    return {**initiative, "measure_config": _inline_config(initiative["measure_config"])}


def _inline_config(config: Any) -> dict[str, Any]:
    """Read a measure-config path of the example manifest; make file paths absolute."""
    if isinstance(config, dict):
        return config
    path = (EXAMPLE.parent / config).resolve()
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    source = loaded.get("DATA", {}).get("SOURCE", {}).get("CONFIG", {})
    if "path" in source:
        source["path"] = str((path.parent / source["path"]).resolve())
    return loaded


async def test_a_measure_replica_killed_mid_run_loses_nothing(
    bus: Bus, stack: ServiceProcesses
) -> None:
    """SIGKILL a measure replica once the run's first result is out, restart it: the report
    still equals embedded mode (no lost and no duplicated initiative)."""
    manifest = load_manifest(EXAMPLE)
    run_id = "kill-run"
    await bus.publish_manifest(manifest.to_event_payload(), run_id)
    async for _ in bus.follow(run_id, ["measure_completed"], timeout_s=RUN_TIMEOUT_S):
        break
    victim = stack.processes["measure-0"]
    victim.kill()
    assert victim.wait(timeout=10) == -9
    stack.start_replica("measure", 0)

    run = await completed(bus, run_id, RUN_TIMEOUT_S)
    assert outcome(run) == embedded(manifest, run_id)

    # Exactly once: the kill and the two rebalances it caused duplicated no committed result.
    results = await bus.read_run(run_id, ["measure_completed", "evaluate_completed"])
    keys = [(name, v["initiative_id"], v.get("phase")) for name, v in results]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
