"""The CLI works from any folder: it finds the checkout it is installed from, and
``--home`` moves the local stack's state, logs and broker data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from impact_cli import stack
from impact_cli.main import app
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]


def test_the_checkout_is_found_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMPACT_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert stack.project_root() == REPO


def test_home_moves_the_stack_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMPACT_STACK_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "stack-home"
    result = CliRunner().invoke(app, ["--home", str(home), "down"])
    assert result.exit_code == 0, result.output
    assert "stack is not up" in result.output
    assert stack.stack_dir(REPO) == home.resolve()


def test_a_state_without_a_data_root_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPACT_STACK_DIR", str(tmp_path))
    state = {"bootstrap": "127.0.0.1:1", "registry_url": "http://127.0.0.1:2"}
    (tmp_path / "state.json").write_text(
        json.dumps({**state, "kafka_data_dir": "k", "processes": []})
    )
    loaded = stack.StackState.load(REPO)
    assert loaded is not None and loaded.data_root is None


def test_publish_checks_files_against_the_data_root_of_the_running_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services_root = tmp_path / "services-data"
    services_root.mkdir()
    monkeypatch.setenv("IMPACT_STACK_DIR", str(tmp_path / "stack"))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    stack.StackState("127.0.0.1:9", "http://127.0.0.1:9", "k", data_root=str(services_root)).save(
        REPO
    )
    project = tmp_path / "my-project"
    project.mkdir()
    (project / "sales.csv").write_text("y,t\n1,0\n2,1\n3,0\n4,1\n")
    config = {
        "DATA": {"SOURCE": {"type": "file", "CONFIG": {"path": "sales.csv"}}},
        "MEASUREMENT": {
            "MODEL": "experiment",
            "PARAMS": {"outcome_column": "y", "treatment_column": "t"},
        },
    }
    manifest = project / "manifest.yaml"
    initiative = {"initiative_id": "a", "cost_to_scale": 1, "measure_config": config}
    manifest.write_text(json.dumps({"budget": 10, "INITIATIVES": [initiative]}))
    monkeypatch.chdir(project)
    result = CliRunner().invoke(app, ["publish", "manifest.yaml"])
    assert result.exit_code == 2, result.output
    [line] = result.output.splitlines()
    assert line.startswith("error manifest.yaml: INITIATIVES[0].measure_config: ")
    assert f"path escapes data root {services_root}" in line
    assert "impact up --data-root DIR" in line and "IMPACT_DATA_ROOT=DIR" in line


def test_a_manifest_path_outside_the_data_root_gets_a_hint_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import typer
    from impact_cli.common import DATA_ROOT_HINT, fail
    from impact_orchestrator.manifest import ManifestError

    problem = "manifest.yaml: INITIATIVES[0].measure_config: path escapes the data root /d: x"
    with pytest.raises(typer.Exit):
        fail(ManifestError([problem]))
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"error {problem}", f"hint {DATA_ROOT_HINT}"]
