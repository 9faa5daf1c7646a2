"""Embedded mode on fake components: the same state machine, driven by a thread pool."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from impact_orchestrator import run_embedded
from impact_orchestrator.manifest import Registries

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import measure_config


def write_manifest(write_yaml: WriteYaml) -> Path:
    effects = {"a": (2.0, 2.5), "b": (1.0, 1.0), "c": (3.0, 2.0), "d": (0.5, 0.4)}
    entries = [
        {
            "initiative_id": i,
            "cost_to_scale": cost,
            "measure_config": measure_config(effect=pilot, scale_effect=scale),
        }
        for (i, (pilot, scale)), cost in zip(effects.items(), [10.0, 20.0, 25.0, 5.0], strict=True)
    ]
    entries.append(
        {"initiative_id": "e", "cost_to_scale": 1.0, "measure_config": measure_config(fail="pilot")}
    )
    return write_yaml(
        "manifest.yaml",
        {"budget": 40.0, "scale_sample_size": 400, "seed": 3, "INITIATIVES": entries},
    )


def test_embedded_run_reports_predicted_vs_actual(
    write_yaml: WriteYaml, registries: Registries
) -> None:
    statuses: list[dict[str, Any]] = []
    result = run_embedded(
        write_manifest(write_yaml), registries=registries, run_id="x", on_status=statuses.append
    )
    assert result["status"] == "completed"
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


def test_embedded_run_is_deterministic(write_yaml: WriteYaml, registries: Registries) -> None:
    path = write_manifest(write_yaml)
    first = run_embedded(path, registries=registries, max_workers=4)
    second = run_embedded(path, registries=registries, max_workers=1)
    assert first == second
