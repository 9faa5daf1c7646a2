"""Paths resolve relative to the file naming them; stage defaults; the event payload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from impact_orchestrator.manifest import Catalogs, StageConfig, load_manifest

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import measure_config


def file_config(path: str, scale_path: str | None = None) -> dict[str, Any]:
    config = measure_config("experiment")
    config["DATA"]["SOURCE"] = {"type": "file", "CONFIG": {"path": path}}
    if scale_path is not None:
        config["SCALE"] = {"DATA": {"SOURCE": {"CONFIG": {"path": scale_path}}}}
    return config


def test_paths_resolve_relative_to_the_naming_file(
    tmp_path: Path, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    write_yaml("data/pilot.csv", "x\n")
    write_yaml("data/scale.csv", "x\n")
    write_yaml("configs/a.yaml", file_config("../data/pilot.csv", "../data/scale.csv"))
    path = write_yaml(
        "manifest.yaml",
        {
            "budget": 10.0,
            "INITIATIVES": [
                {"initiative_id": "a", "cost_to_scale": 1.0, "measure_config": "configs/a.yaml"},
                {
                    "initiative_id": "b",
                    "cost_to_scale": 2.0,
                    "measure_config": file_config("data/pilot.csv"),
                },
            ],
        },
    )
    loaded = load_manifest(path, catalogs=catalogs)
    a, b = loaded.initiatives
    assert a.measure_config["DATA"]["SOURCE"]["CONFIG"]["path"] == str(tmp_path / "data/pilot.csv")
    assert a.measure_config["SCALE"]["DATA"]["SOURCE"]["CONFIG"]["path"] == str(
        tmp_path / "data/scale.csv"
    )
    assert b.measure_config["DATA"]["SOURCE"]["CONFIG"]["path"] == str(tmp_path / "data/pilot.csv")


def test_configurable_data_root_allows_sibling_directories(
    tmp_path: Path, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    write_yaml("shared/a.yaml", measure_config("synthetic_control"))
    path = write_yaml(
        "runs/manifest.yaml",
        {
            "budget": 10.0,
            "INITIATIVES": [
                {"initiative_id": "a", "cost_to_scale": 1.0, "measure_config": "../shared/a.yaml"}
            ],
        },
    )
    loaded = load_manifest(path, data_root=tmp_path, catalogs=catalogs)
    assert loaded.initiatives[0].measure_config["MEASUREMENT"]["MODEL"] == "synthetic_control"


def test_stage_defaults_and_the_original_rule_form(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    entry = {"initiative_id": "a", "cost_to_scale": 1.0, "measure_config": measure_config()}
    path = write_yaml(
        "manifest.yaml",
        {"budget": 10.0, "ALLOCATE": {"rule": "minimax_regret"}, "INITIATIVES": [entry]},
    )
    loaded = load_manifest(path, catalogs=catalogs)
    assert loaded.measure == StageConfig(component="Measure", kwargs={})
    assert loaded.evaluate == StageConfig(component="Evaluate", kwargs={})
    assert loaded.allocate == StageConfig(component="Allocate", kwargs={"rule": "minimax_regret"})


def test_stage_file_and_event_payload(
    tmp_path: Path, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    write_yaml(
        "stages/allocate.yaml",
        {"component": "MinimaxRegretAllocate", "min_confidence_threshold": 0.2},
    )
    config = measure_config("subclassification", effect=2.0)
    path = write_yaml(
        "manifest.yaml",
        {
            "budget": 50,
            "scale_sample_size": 300,
            "max_workers": 2,
            "storage_url": "./results",
            "deadline": 30,
            "deadline_policy": "fail",
            "seed": 7,
            "EVALUATE": {"confidence": 0.9},
            "ALLOCATE": "stages/allocate.yaml",
            "INITIATIVES": [{"initiative_id": "a", "cost_to_scale": 5, "measure_config": config}],
        },
    )
    payload = load_manifest(path, catalogs=catalogs).to_event_payload()
    assert payload == {
        "budget": 50.0,
        "scale_sample_size": 300,
        "max_workers": 2,
        "seed": 7,
        "storage_url": "./results",
        "deadline_s": 30.0,
        "deadline_policy": "fail",
        "measure": {"component": "Measure", "kwargs": {}},
        "evaluate": {"component": "Evaluate", "kwargs": {"confidence": 0.9}},
        "allocate": {
            "component": "MinimaxRegretAllocate",
            "kwargs": {"min_confidence_threshold": 0.2},
        },
        "initiatives": [{"initiative_id": "a", "cost_to_scale": 5.0, "measure_config": config}],
        "source": str(tmp_path / "manifest.yaml"),
        "approval": "none",
        "pilot_only": False,
        "approval_days": None,
        "scale_days": None,
    }
