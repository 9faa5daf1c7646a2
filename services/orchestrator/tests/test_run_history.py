"""Named runs (the manifest's ``name:``) and the local history of embedded runs."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.history import HISTORY_ENV, RunHistory, default_history_dir
from impact_orchestrator.manifest import ManifestError, load_manifest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


#: ``manifest_file(name)``: the example manifest with ``name: <name>``
ManifestFile = Callable[[object], Path]


@pytest.fixture
def manifest_file(tmp_path: Path) -> ManifestFile:
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    raw = yaml.safe_load((EXAMPLES / "manifest.yaml").read_text())

    def make(name: object) -> Path:
        path = examples / "named.yaml"
        path.write_text(yaml.safe_dump({**raw, "name": name}))
        return path

    return make


def test_a_name_is_carried_into_the_manifest_event(manifest_file: ManifestFile) -> None:
    manifest = load_manifest(manifest_file("Q4 retail — 100k"))
    assert manifest.name == "Q4 retail — 100k"
    assert manifest.to_event_payload()["name"] == "Q4 retail — 100k"
    assert "name" not in load_manifest(EXAMPLES / "manifest.yaml").to_event_payload()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "name: must not be empty"),
        (" padded", "name: must not start or end with white space"),
        ("two\nlines", "name: must be printable text on one line"),
        ("x" * 121, "name: String should have at most 120 characters"),
        (2026, "name: must be a string"),
    ],
)
def test_a_bad_name_is_one_line_naming_the_key(
    manifest_file: ManifestFile, name: object, reason: str
) -> None:
    path = manifest_file(name)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert caught.value.errors == [f"{path.name}: {reason}"]


def test_an_embedded_run_is_recorded_with_its_events(
    tmp_path: Path, manifest_file: ManifestFile
) -> None:
    history = RunHistory(tmp_path / "runs")
    manifest = load_manifest(manifest_file("budget check"))
    completed = run_embedded(manifest, run_id="run-1", history=history, progress=False)
    assert history.run_ids() == ["run-1"]
    events = history.read("run-1")
    names = [name for name, _ in events]
    assert names[0] == "manifest_submitted" and "run_completed" in names
    assert not {"measure_requested", "evaluate_requested"} & set(names)
    assert names.count("allocate_requested") == 1  # the posterior evaluations the report shows
    statuses = [
        (v["stage"], v["completed"], v["total"], v["state"]) for n, v in events if n == "run_status"
    ]
    assert statuses == [  # the last of each stage only
        ("measure", 8, 8, "running"),
        ("evaluate", 8, 8, "running"),
        ("allocate", 1, 1, "running"),
        ("scale", 5, 5, "running"),
        ("report", 5, 5, "completed"),
    ]
    assert names.count("measure_completed") == 8 + 5  # pilots, then the five selected at scale
    assert names.count("evaluate_completed") == 8
    assert names.count("allocate_completed") == 1
    assert all(value["run_id"] == "run-1" for _, value in events)
    assert all(isinstance(value["produced_at"], datetime) for _, value in events)
    manifest_event = dict(events)["manifest_submitted"]
    assert (manifest_event["name"], manifest_event["budget"]) == ("budget check", 100_000.0)
    recorded = dict(events)["run_completed"]
    assert recorded["summary"] == completed["summary"]
    assert recorded["reports"] == completed["reports"]
    assert history.all_events(["run_completed"]) == [("run_completed", recorded)]


def test_without_a_history_nothing_is_written(tmp_path: Path) -> None:
    history = RunHistory(tmp_path / "runs")
    run_embedded(EXAMPLES / "manifest.yaml", run_id="run-2", progress=False)
    assert history.run_ids() == [] and not history.has("run-2")


def test_the_history_folder_follows_the_cli_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(HISTORY_ENV, raising=False)
    monkeypatch.setenv("IMPACT_STACK_DIR", str(tmp_path / "home"))
    assert default_history_dir() == tmp_path / "home" / "runs"
    monkeypatch.setenv(HISTORY_ENV, str(tmp_path / "elsewhere"))
    assert default_history_dir() == tmp_path / "elsewhere"


def test_a_run_id_cannot_name_a_file_outside_the_history(tmp_path: Path) -> None:
    history = RunHistory(tmp_path)
    assert history.read("../etc/passwd") == []
    with pytest.raises(ValueError, match="not a run id"):
        history.write("../x", [])


def test_the_python_api_records_a_run_unless_told_not_to(tmp_path: Path) -> None:
    from impact_orchestrator import api

    history = RunHistory(tmp_path / "runs")
    run = api.run(EXAMPLES / "manifest.yaml", history=history.folder, progress=False)
    assert history.run_ids() == [run["run_id"]]
    assert dict(history.read(run["run_id"]))["run_completed"]["summary"] == run["summary"]
    unrecorded = api.run(EXAMPLES / "manifest.yaml", history=False, run_id="mine", progress=False)
    assert unrecorded["run_id"] == "mine" and history.run_ids() == [run["run_id"]]
