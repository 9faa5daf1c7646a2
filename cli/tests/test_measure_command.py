"""``impact measure CONFIG.yaml``, ``--no-cache``, and the pilot estimates a report shows
even when the scale phase fails (a one-initiative manifest on a CSV without SCALE)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from impact_cli import main, render
from typer.testing import CliRunner

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIG = EXAMPLES / "configs" / "file_experiment.yaml"
#: the effect of file_experiment.yaml on examples/data/retail_pilot.csv (200 rows). The
#: last digits depend on the BLAS kernel the CPU gets (AVX-512 or not), so the pinned
#: values are compared to 1e-9; two runs on one machine are compared exactly.
PILOT_EFFECT = pytest.approx(4.517545420269146, rel=1e-9)


@pytest.fixture(autouse=True)
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "storage"
    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(directory))
    return directory


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(main.app, [str(a) for a in args], env={"COLUMNS": "200"})


def measure_json(*args: str | Path) -> dict[str, Any]:
    result = invoke("measure", CONFIG, "--data-root", EXAMPLES, "--json", *args)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_measure_prints_effect_ci_p_sizes_estimand_and_diagnostics() -> None:
    result = invoke("measure", CONFIG, "--data-root", EXAMPLES)
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[:8] == [
        "file_experiment: experiment, pilot",
        "estimand     ATE",
        "effect       4.5175",
        "95% CI       [2.5096, 6.5255]",
        "p-value      1.52e-05",
        "sample size  200",
        "n_treated    100",
        "n_control    100",
    ]
    assert "se_type" in result.stdout and "HC2" in result.stdout


def test_measure_json_is_the_measure_completed_payload_and_reuses_the_cache() -> None:
    cold = measure_json()
    assert cold["cached"] is False
    assert (cold["initiative_id"], cold["phase"]) == ("file_experiment", "pilot")
    assert cold["result"]["effect_estimate"] == PILOT_EFFECT
    assert cold["result"]["sample_size"] == 200
    warm = measure_json()
    assert warm == {**cold, "cached": True}
    assert measure_json("--no-cache") == cold
    scale = measure_json("--phase", "scale")
    assert scale["result"]["sample_size"] == 800  # SCALE names retail_scale.csv


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["MEASUREMENT"]["PARAMS"].update(outcome_column="rev"),
            "error {file}: {data}: MEASUREMENT.PARAMS.outcome_column: column 'rev' not in data "
            "(columns: product_id, category, price, baseline_revenue, baseline_visits, "
            "treated, visits, units, revenue)",
        ),
        (
            lambda c: c["DATA"]["SOURCE"]["CONFIG"].update(path="missing.csv"),
            "error {file}: DATA.SOURCE.CONFIG.path: file not found: missing.csv",
        ),
        (
            lambda c: c["MEASUREMENT"].update(MODLE="experiment"),
            "error {file}: MEASUREMENT.MODLE: unknown key",
        ),
    ],
)
def test_measure_errors_name_the_file_the_key_and_the_reason(
    tmp_path: Path, edit: Any, message: str
) -> None:
    shutil.copy(EXAMPLES / "data" / "retail_pilot.csv", tmp_path / "pilot.csv")
    config = yaml.safe_load(CONFIG.read_text())
    config["DATA"]["SOURCE"]["CONFIG"]["path"] = "pilot.csv"
    del config["SCALE"]
    edit(config)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = invoke("measure", path)
    assert result.exit_code == 2
    file = path if "column" in message else "bad.yaml"
    assert result.stderr.strip() == message.format(file=file, data=tmp_path / "pilot.csv")


def test_measure_scale_of_a_file_without_scale_data_says_what_to_add(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "data" / "retail_pilot.csv", tmp_path / "pilot.csv")
    config = yaml.safe_load(CONFIG.read_text())
    config["DATA"]["SOURCE"]["CONFIG"]["path"] = "pilot.csv"
    del config["SCALE"]
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(config))
    result = invoke("measure", tmp_path / "m.yaml", "--phase", "scale")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error {tmp_path / 'm.yaml'}: SCALE: phase 'scale' with a 'file' source needs a "
        "SCALE section naming the scale data"
    )


def one_initiative(tmp_path: Path, **run_level: Any) -> Path:
    """A one-initiative manifest on a copy of the pilot CSV, with no SCALE section."""
    shutil.copy(EXAMPLES / "data" / "retail_pilot.csv", tmp_path / "data.csv")
    config = yaml.safe_load(CONFIG.read_text())
    config["DATA"]["SOURCE"]["CONFIG"]["path"] = "data.csv"
    del config["SCALE"]
    manifest = {
        "budget": 10_000,
        **run_level,
        "INITIATIVES": [
            {"initiative_id": "my-test", "cost_to_scale": 5_000, "measure_config": config}
        ],
    }
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(manifest))
    return path


def test_a_one_initiative_csv_run_reports_the_pilot_estimate_and_flags_the_scale_data(
    tmp_path: Path,
) -> None:
    """``impact run --json`` shows the pilot estimate; the initiative gets no budget: its
    scale measurement cannot run (no SCALE section) and it is flagged before allocation."""
    manifest = one_initiative(tmp_path)
    result = invoke("run", manifest, "--json")
    assert result.exit_code == 1, result.output  # an initiative failed (at scale)
    assert result.stderr.strip() == "run completed: 1 of 1 initiatives failed (my-test at scale)"
    report = json.loads(result.stdout)
    assert report["pilots"] == [
        {
            "initiative_id": "my-test",
            "model_type": "experiment",
            "effect_estimate": PILOT_EFFECT,
            "ci_lower": pytest.approx(2.5096044312135475, rel=1e-9),
            "ci_upper": pytest.approx(6.525486409324744, rel=1e-9),
            "p_value": pytest.approx(1.5198755755254787e-05, rel=1e-9),
            "sample_size": 200,
            "confidence_score": report["pilots"][0]["confidence_score"],
            "selected": False,
            "predicted_return": report["pilots"][0]["predicted_return"],
            "probability_positive": report["pilots"][0]["probability_positive"],
        }
    ]
    assert 0 < report["pilots"][0]["confidence_score"] <= 1
    # a one-initiative cohort: the default normal prior shrinks a precise pilot a little
    assert 0.9 * 4.5175 < report["pilots"][0]["predicted_return"] < 4.5175
    assert report["pilots"][0]["probability_positive"] > 0.99
    assert report["reports"] == []
    (failure,) = report["failures"]
    assert (failure["initiative_id"], failure["stage"]) == ("my-test", "scale")
    assert failure["reason"].startswith("no scale data: a 'file' source cannot draw a scale")
    assert report["summary"]["total_budget_allocated"] == 0.0
    assert report["summary"]["reason"] == (
        "nothing allocated: no evaluated initiative can be measured at scale"
    )
    text = invoke("run", manifest)
    assert "Pilot estimates" in text.stdout and "[2.51, 6.53]" in text.stdout
    assert "1 measurement(s) reused from the result cache" in text.stdout


def test_no_cache_measures_afresh_and_is_refused_without_a_switch(tmp_path: Path) -> None:
    import tests.support.fault_measure  # noqa: F401  (registers FaultyMeasure: no switch)

    manifest = one_initiative(tmp_path)
    assert json.loads(invoke("run", manifest, "--json").stdout)["cached"] == {}
    assert json.loads(invoke("run", manifest, "--json").stdout)["cached"] == {"my-test": ["pilot"]}
    assert json.loads(invoke("run", manifest, "--json", "--no-cache").stdout)["cached"] == {}
    faulty = one_initiative(tmp_path, MEASURE={"component": "FaultyMeasure"})
    result = invoke("run", faulty, "--no-cache")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error --no-cache: measure component 'FaultyMeasure' has no cache switch"
    )


def test_cached_measurements_counts_each_initiative_and_phase_once() -> None:
    def completed(initiative: str, phase: str, cached: bool) -> tuple[str, dict[str, Any]]:
        return "measure_completed", {"initiative_id": initiative, "phase": phase, "cached": cached}

    events = [
        completed("b", "scale", True),
        completed("b", "pilot", True),
        completed("b", "pilot", True),  # a redelivered duplicate
        completed("a", "pilot", False),
        completed("c", "pilot", True),
        ("run_status", {"stage": "measure"}),
    ]
    assert render.cached_measurements(events) == {"b": ["pilot", "scale"], "c": ["pilot"]}
