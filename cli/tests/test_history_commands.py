"""``impact run`` records embedded runs under ``--home``; ``impact runs``, ``compare``,
``report --html``, ``sweep`` and ``pilots`` read them, with no broker."""

from __future__ import annotations

import csv
import json
import re
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


def impact(home: Path, *args: str) -> str:
    result = CliRunner().invoke(main.app, ["--home", str(home), *args], env=NO_BROKER)
    assert result.exit_code == 0, result.output
    return result.output


def test_embedded_runs_are_recorded_compared_and_reported(home: Path, tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    raw = yaml.safe_load((examples / "manifest.yaml").read_text())
    (examples / "smaller.yaml").write_text(
        yaml.safe_dump({**raw, "budget": 75_000, "name": "Q4 at 75k"})
    )
    a = json.loads(impact(home, "run", str(examples / "smaller.yaml"), "--json"))
    b = json.loads(impact(home, "run", str(examples / "manifest.yaml"), "--json"))
    assert (a["name"], b["name"]) == ("Q4 at 75k", None)
    assert sorted(p.name for p in (home / "runs").iterdir()) == sorted(
        f"{run['run_id']}.jsonl" for run in (a, b)
    )

    listed = json.loads(impact(home, "runs", "--json"))
    assert [row["run_id"] for row in listed] == [b["run_id"], a["run_id"]]  # newest first
    assert [row["name"] for row in listed] == [None, "Q4 at 75k"]

    diff = json.loads(impact(home, "compare", a["run_id"], b["run_id"], "--json"))
    assert diff["budget_change"] == 25_000.0
    assert (diff["added"], diff["removed"]) == (["product-desc-enhancement"], [])
    assert diff["allocated_change"] == 20_000.0  # product-desc-enhancement's cost
    predicted = {p["initiative_id"]: p["predicted_return"] for p in b["pilots"]}
    assert diff["predicted_change"] == pytest.approx(predicted["product-desc-enhancement"])
    assert diff["a"]["name"] == "Q4 at 75k"
    table = impact(home, "compare", a["run_id"], b["run_id"])
    assert "added: product-desc-enhancement" in table and "removed: none" in table

    page = tmp_path / "report.html"
    said = impact(home, "report", a["run_id"], "--html", str(page))
    assert said.strip() == f"wrote {page} (run {a['run_id']}: completed)"
    html = page.read_text()
    assert "<title>Outcome report Q4 at 75k" in html
    assert re.search(r"<h1>Q4 at 75k <small[^>]*>run " + a["run_id"], html)

    status = json.loads(impact(home, "status", a["run_id"], "--json", "--lineage"))
    assert (status["name"], status["status"], status["lifecycle"]) == (
        "Q4 at 75k",
        "completed",
        "completed",
    )
    assert status["lineage"]  # the history keeps the chain: requests are left out
    tailed = json.loads(impact(home, "tail", a["run_id"], "--json"))
    assert tailed["summary"] == a["summary"]

    sheet = tmp_path / "portfolio.csv"
    impact(home, "report", a["run_id"], "--csv", str(sheet))
    rows = list(csv.DictReader(sheet.open()))
    assert [r["initiative_id"] for r in rows] == [p["initiative_id"] for p in a["pilots"]]
    assert {r["initiative_id"]: float(r["predicted"]) for r in rows} == {
        p["initiative_id"]: p["predicted_return"] for p in a["pilots"]
    }
    assert {r["initiative_id"] for r in rows if r["selected"] == "yes"} == {
        r["initiative_id"] for r in a["reports"]
    }
    assert "product-desc-enhancement" not in {
        r["initiative_id"] for r in rows if r["selected"] == "yes"
    }


def test_a_run_not_in_the_history_needs_a_broker(home: Path) -> None:
    result = CliRunner().invoke(
        main.app, ["--home", str(home), "compare", "no-such-run", "other"], env=NO_BROKER
    )
    assert result.exit_code == 2
    assert "no broker given" in result.output


def test_a_sweep_prints_a_table_and_writes_a_chart(home: Path, tmp_path: Path) -> None:
    chart = tmp_path / "sweep.svg"
    args = ("sweep", str(EXAMPLES / "manifest.yaml"), "--budgets", "50000:100000:25000")
    data = json.loads(impact(home, *args, "--json", "--chart", str(chart)))
    assert [p["budget"] for p in data["points"]] == [50_000.0, 75_000.0, 100_000.0]
    assert [len(p["selected"]) for p in data["points"]] == [3, 4, 5]
    marks = re.findall(
        r'class="point"[^>]*data-budget="([^"]+)" data-predicted="([^"]+)"', chart.read_text()
    )
    assert [float(b) for b, _ in marks] == [50_000.0, 75_000.0, 100_000.0]
    assert [float(v) for _, v in marks] == pytest.approx(
        [p["predicted"] for p in data["points"]], rel=1e-5
    )
    text = impact(home, *args)
    assert "+regional-promo" in text and "+product-desc-enhancement" in text
    assert "predicted value by budget" in text


def test_bad_budgets_are_one_line(home: Path) -> None:
    result = CliRunner().invoke(
        main.app, ["sweep", str(EXAMPLES / "manifest.yaml"), "--budgets", "lots"], env=NO_BROKER
    )
    assert result.exit_code == 2
    assert result.output.strip() == "error --budgets: 'lots' is not a number or START:STOP:STEP"


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


def test_pilots_of_a_run_not_in_the_history_need_a_broker(home: Path) -> None:
    result = CliRunner().invoke(
        main.app, ["--home", str(home), "pilots", "no-such-run"], env=NO_BROKER
    )
    assert result.exit_code == 2
    assert "no broker given" in result.output
