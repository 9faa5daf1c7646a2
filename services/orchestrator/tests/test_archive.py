"""The run-level ``storage_url``: a completed run's archive under the operator's storage
root, written by embedded mode and by the orchestrator service, whole files (a replayed
completion rewrites the same bytes), and never outside the root."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from impact_contracts import ConfigError, ManifestSubmitted
from impact_orchestrator import RunState, run_embedded
from impact_orchestrator.archive import archive_completed, archive_files, write_archive
from impact_orchestrator.executor import ComponentExecutor
from impact_orchestrator.manifest import Catalogs, load_manifest

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakebus_run import drive, orchestrator_bus
from services.orchestrator.tests.test_embedded_fakes import write_manifest

FILES = ["pilot.jsonl", "report.jsonl", "run.json", "scale.jsonl"]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "storage"
    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(directory))
    return directory


def with_storage(path: Path, storage_url: Any) -> Path:
    content = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**content, "storage_url": storage_url}))
    return path


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_archive(directory: Path, result: dict[str, Any], run_id: str) -> None:
    assert sorted(p.name for p in directory.iterdir()) == FILES
    assert read_lines(directory / "report.jsonl") == result["reports"]
    pilots = read_lines(directory / "pilot.jsonl")
    assert [p["initiative_id"] for p in pilots] == ["a", "b", "c", "d"]  # e failed its pilot
    scales = read_lines(directory / "scale.jsonl")
    assert [s["initiative_id"] for s in scales] == [r["initiative_id"] for r in result["reports"]]
    assert [s["effect_estimate"] for s in scales] == [r["actual_return"] for r in result["reports"]]
    assert json.loads((directory / "run.json").read_text()) == {
        "run_id": run_id,
        "status": "completed",
        "summary": result["summary"],
        "failures": result["failures"],
    }


def test_embedded_mode_writes_the_archive(
    root: Path, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    path = with_storage(write_manifest(write_yaml), "team-a/runs")
    result = run_embedded(path, catalogs=catalogs, run_id="r1")
    assert_archive(root / "team-a" / "runs" / "r1", result, "r1")
    written = [p for p in root.rglob("*") if p.is_file()]
    assert sorted(p.relative_to(root).as_posix() for p in written) == [
        f"team-a/runs/r1/{name}" for name in FILES
    ]


def test_no_storage_url_writes_nothing(
    root: Path, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    run_embedded(write_manifest(write_yaml), catalogs=catalogs, run_id="r1")
    assert not root.exists()


def completed_state(path: Path, catalogs: Catalogs, run_id: str = "r1") -> RunState:
    from impact_orchestrator.transitions import apply

    manifest = load_manifest(path, catalogs=catalogs).to_event_payload()
    state, commands = RunState.start(manifest, run_id, 0.0)
    execute = ComponentExecutor(catalogs)
    queue = [c for c in commands if c.event.endswith("_requested")]
    while queue:
        event, payload = execute(queue.pop(0))
        state, commands = apply(state, event, payload, 0.0)
        queue += [c for c in commands if c.event.endswith("_requested")]
    assert state.done
    return state


def test_a_replayed_completion_rewrites_the_same_bytes(
    root: Path, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    state = completed_state(with_storage(write_manifest(write_yaml), "runs"), catalogs)
    directory = write_archive(state)
    assert directory == root / "runs" / "r1"
    first = {name: (directory / name).read_bytes() for name in FILES}
    assert archive_completed(state) == directory
    assert {name: (directory / name).read_bytes() for name in FILES} == first
    assert len(read_lines(directory / "pilot.jsonl")) == 4
    assert sorted(p.name for p in directory.iterdir()) == FILES  # no temporary file left
    assert {n: t.encode() for n, t in archive_files(state).items()} == first


def test_a_manifest_that_skipped_validation_cannot_write_outside(
    root: Path, tmp_path: Path, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    state = completed_state(write_manifest(write_yaml), catalogs)
    outside = tmp_path / "outside"
    escaped = state.model_copy(update={"manifest": _stored_at(state, str(outside))})
    with pytest.raises(ConfigError, match=r"^storage_url: must be a relative path"):
        write_archive(escaped)
    assert archive_completed(escaped) is None  # logged, the run still completes
    sneaky = state.model_copy(update={"manifest": _stored_at(state, "runs")})
    with pytest.raises(ConfigError, match=r"^run_id: '\.\./\.\./x' cannot name a directory"):
        write_archive(sneaky.model_copy(update={"run_id": "../../x"}))
    assert not outside.exists() and not (tmp_path / "x").exists()


async def test_the_orchestrator_service_writes_the_archive_when_the_run_completes(
    root: Path, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    path = with_storage(write_manifest(write_yaml), "service-runs")
    manifest = load_manifest(path, catalogs=catalogs)
    directory = root / "service-runs" / "r9"
    bus, _ = await orchestrator_bus()

    def not_yet_archived() -> None:
        assert not directory.exists()  # only once the run completes

    await drive(bus, manifest, catalogs, before_each=not_yet_archived)
    (completed,) = bus.events("run_completed")
    report = {
        k: completed[k] for k in ("status", "reports", "pilots", "cached", "failures", "summary")
    }
    assert_archive(directory, report, "r9")
    assert report == run_embedded(manifest, catalogs=catalogs, run_id="r9")


def _stored_at(state: RunState, storage_url: str) -> ManifestSubmitted:
    """The run's manifest with another ``storage_url``, not checked again."""
    return state.plan.model_copy(update={"storage_url": storage_url})
