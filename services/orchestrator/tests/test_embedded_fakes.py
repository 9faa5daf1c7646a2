"""Embedded mode on fake components: the same state machine, driven by a thread pool."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from impact_evaluate.cohort import pool_run
from impact_orchestrator import run_embedded
from impact_orchestrator.manifest import Catalogs, load_manifest

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import four_initiatives, measure_config


def write_manifest(write_yaml: WriteYaml, estimates: str = "raw") -> Path:
    entries = four_initiatives()
    entries.append(
        {"initiative_id": "e", "cost_to_scale": 1.0, "measure_config": measure_config(fail="pilot")}
    )
    return write_yaml(
        "manifest.yaml",
        {
            "budget": 40.0,
            "scale_sample_size": 400,
            "seed": 3,
            "EVALUATE": {"estimates": estimates},
            "INITIATIVES": entries,
        },
    )


def test_embedded_run_reports_predicted_vs_actual(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    statuses: list[dict[str, Any]] = []
    result = run_embedded(
        write_manifest(write_yaml), catalogs=catalogs, run_id="x", on_status=statuses.append
    )
    assert result["status"] == "completed"
    assert result["summary"]["estimates"] == "raw"
    # greedy fake allocation by median: c (25) + a (10) + d (5) = 40
    assert [r["initiative_id"] for r in result["reports"]] == ["a", "c", "d"]
    assert [(r["predicted_return"], r["actual_return"]) for r in result["reports"]] == [
        (2.0, 2.5),
        (3.0, 2.0),
        (0.5, 0.4),
    ]
    for report in result["reports"]:
        assert report["prediction_error"] == report["actual_return"] - report["predicted_return"]
        assert report["sample_size_scale"] == 400
    summary = result["summary"]
    assert summary["total_budget_allocated"] == 40.0
    assert math.fsum(r["budget_allocated"] for r in result["reports"]) <= summary["budget"]
    assert result["failures"] == [
        {"initiative_id": "e", "stage": "measure", "reason": "cannot measure e"}
    ]
    assert statuses[-1] == {
        "stage": "report",
        "completed": 3,
        "total": 3,
        "state": "completed",
        "message": "completed",
    }
    assert {
        "stage": "measure",
        "completed": 5,
        "total": 5,
        "state": "running",
        "message": "[5/5] measure",
    } in statuses


def test_embedded_run_is_deterministic(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    path = write_manifest(write_yaml)
    first = run_embedded(path, catalogs=catalogs, max_workers=4)
    second = run_embedded(path, catalogs=catalogs, max_workers=1)
    assert first == second


def test_predicted_returns_are_the_posterior_means(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    """By default allocate gets, and the report shows, the cohort's posterior means: every
    pilot shrunk towards 0 (a four-initiative cohort: the default normal prior)."""
    path = write_manifest(write_yaml, estimates="posterior")
    result = run_embedded(path, catalogs=catalogs, run_id="x")
    evaluated = {"a": 2.0, "b": 1.0, "c": 3.0, "d": 0.5}
    manifest = load_manifest(path, catalogs=catalogs).to_event_payload()
    pooled = pool_run(
        manifest,
        [
            {
                "initiative_id": i,
                "confidence": 0.5,
                "cost": spec["cost_to_scale"],
                "return_best": effect + 1.0,
                "return_median": effect,
                "return_worst": effect - 1.0,
                "model_type": "experiment",
                "sample_size": 100,
            }
            for (i, effect), spec in zip(evaluated.items(), manifest["initiatives"], strict=False)
        ],
    )
    means = {e["initiative_id"]: e["return_median"] for e in pooled}
    assert result["summary"]["estimates"] == "posterior"
    assert result["reports"]
    for report in result["reports"]:
        initiative_id = report["initiative_id"]
        assert report["predicted_return"] == means[initiative_id]
        assert 0 < report["predicted_return"] < evaluated[initiative_id]
        assert report["prediction_lower"] < report["predicted_return"] < report["prediction_upper"]
        assert report["inside_interval"] == (
            report["prediction_lower"] <= report["actual_return"] <= report["prediction_upper"]
        )
    summary = result["summary"]
    assert summary["n_with_interval"] == len(result["reports"])
    assert summary["n_inside_interval"] == sum(r["inside_interval"] for r in result["reports"])
    assert summary["predicted_total_lower"] < summary["total_predicted_return"]
    assert summary["total_predicted_return"] < summary["predicted_total_upper"]
