"""``impact pilots RUN_ID``: a recorded run's pilots as earlier pilots of a later manifest."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from impact_cli import main
from impact_cli.pilots import COLUMNS, pilot_records
from typer.testing import CliRunner

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NO_BROKER = {"KAFKA_BOOTSTRAP_SERVERS": None, "SCHEMA_REGISTRY_URL": None, "COLUMNS": "200"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("IMPACT_HISTORY_DIR", raising=False)  # the history follows --home
    monkeypatch.delenv("IMPACT_STACK_DIR", raising=False)
    return tmp_path / "home"


def impact(home: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main.app, ["--home", str(home), *args], env=NO_BROKER)
    assert result.exit_code == code, result.output
    return result.output


def test_a_runs_pilots_feed_the_next_runs_prior(home: Path, tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    first = json.loads(impact(home, "run", str(examples / "manifest.yaml"), "--json"))
    impact(home, "pilots", first["run_id"], "-o", str(examples / "pilots.csv"))

    rows = list(csv.DictReader((examples / "pilots.csv").open()))
    assert tuple(rows[0]) == COLUMNS
    assert {r["initiative_id"] for r in rows} == {p["initiative_id"] for p in first["pilots"]}
    for row in rows:
        assert row["run_id"] == first["run_id"] and row["model_type"]
        assert float(row["ci_lower"]) <= float(row["estimate"]) <= float(row["ci_upper"])

    raw = yaml.safe_load((examples / "manifest.yaml").read_text())
    raw["EVALUATE"] = {**raw["EVALUATE"], "earlier_pilots": "pilots.csv"}
    (examples / "again.yaml").write_text(yaml.safe_dump(raw))
    impact(home, "check", str(examples / "again.yaml"))
    second = json.loads(impact(home, "run", str(examples / "again.yaml"), "--json"))
    before = {p["initiative_id"]: p["predicted_return"] for p in first["pilots"]}
    after = {p["initiative_id"]: p["predicted_return"] for p in second["pilots"]}
    assert before.keys() == after.keys() and before != after


def test_only_pilot_measurements_are_taken_with_the_value_model() -> None:
    measured = {
        "effect_estimate": 2.0,
        "ci_lower": 1.0,
        "ci_upper": 3.0,
        "model_type": "experiment",
    }
    events: list[tuple[str, dict[str, Any]]] = [
        ("manifest_submitted", {"initiatives": [{"initiative_id": "a", "horizon": 12}]}),
        ("measure_completed", {"initiative_id": "a", "phase": "pilot", "result": measured}),
        ("measure_completed", {"initiative_id": "a", "phase": "scale", "result": measured}),
    ]
    assert pilot_records("r", events) == [
        {
            "initiative_id": "a",
            "run_id": "r",
            "model_type": "experiment",
            "estimate": 2.0,
            "ci_lower": 1.0,
            "ci_upper": 3.0,
            "value_per_unit": None,
            "units_at_scale": None,
            "horizon": 12,
        }
    ]


def test_a_run_without_pilots_is_one_line(home: Path) -> None:
    output = impact(home, "pilots", "no-such-run", code=2)
    assert "no broker given" in output
