"""Every manifest error names the file, the key path and the reason; all are collected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from impact_orchestrator.manifest import Catalogs, ManifestError, load_manifest

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import measure_config


def manifest(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "budget": 100.0,
        "scale_sample_size": 500,
        "INITIATIVES": [
            {"initiative_id": "a", "cost_to_scale": 10.0, "measure_config": measure_config()},
            {"initiative_id": "b", "cost_to_scale": 20.0, "measure_config": measure_config()},
        ],
    }
    base.update(overrides)
    return base


def errors_of(path: Path, catalogs: Catalogs, data_root: Path | None = None) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, data_root, catalogs=catalogs)
    return caught.value.errors


def errors_for(write_yaml: WriteYaml, catalogs: Catalogs, **override: Any) -> list[str]:
    """The errors of ``manifest.yaml`` holding ``manifest(**override)``."""
    return errors_of(write_yaml("manifest.yaml", manifest(**override)), catalogs)


def initiative(initiative_id: str, config: Any, cost: Any = 10.0) -> dict[str, Any]:
    return {"initiative_id": initiative_id, "cost_to_scale": cost, "measure_config": config}


RUN_LEVEL_CASES = [
    ({"budget": -1.0}, "manifest.yaml: budget: must be > 0, got -1"),
    ({"budget": "lots"}, "manifest.yaml: budget: must be a number"),
    ({"scale_sample_size": 10}, "manifest.yaml: scale_sample_size: must be >= 30, got 10"),
    ({"scale_sample_size": 50.5}, "manifest.yaml: scale_sample_size: must be an integer"),
    ({"max_workers": 0}, "manifest.yaml: max_workers: must be >= 1, got 0"),
    ({"deadline": 0}, "manifest.yaml: deadline: must be > 0, got 0"),
    (
        {"deadline_policy": "later"},
        "manifest.yaml: deadline_policy: must be one of 'fail' or 'proceed'",
    ),
    ({"budjet": 5}, "manifest.yaml: budjet: unknown key"),
    ({"INITIATIVES": []}, "manifest.yaml: INITIATIVES: must have at least 1 item(s)"),
]


def test_missing_budget_is_named(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    content = manifest()
    del content["budget"]
    path = write_yaml("manifest.yaml", content)
    assert errors_of(path, catalogs) == ["manifest.yaml: budget: required key is missing"]


INITIATIVE_CASES = [
    (
        initiative("", measure_config()),
        "manifest.yaml: INITIATIVES[0].initiative_id: must not be empty",
    ),
    (
        initiative("a", measure_config(), 0),
        "manifest.yaml: INITIATIVES[0].cost_to_scale: must be > 0, got 0",
    ),
    (
        {"initiative_id": "a", "cost_to_scale": 1.0},
        "manifest.yaml: INITIATIVES[0].measure_config: required key is missing",
    ),
    (
        initiative("a", "configs/x.yaml"),
        "manifest.yaml: INITIATIVES[0].measure_config: file not found: configs/x.yaml",
    ),
    (
        initiative("a", 42),
        "manifest.yaml: INITIATIVES[0].measure_config: must be a path or a mapping",
    ),
    (
        initiative("a", {**measure_config(), "MEASURE": {}}),
        "manifest.yaml: INITIATIVES[0].measure_config.MEASURE: unknown key",
    ),
    (
        initiative(
            "a",
            {"DATA": {"SOURCE": {"type": "db"}}, "MEASUREMENT": {"MODEL": "experiment"}},
        ),
        "manifest.yaml: INITIATIVES[0].measure_config.DATA.SOURCE.type: "
        "unknown source type 'db'; must be one of 'dataframe', 'file', 's3', 'simulator', 'sql'",
    ),
    (
        initiative("a", {"DATA": {"SOURCE": {"type": "simulator"}}}),
        "manifest.yaml: INITIATIVES[0].measure_config.MEASUREMENT: required key is missing",
    ),
]


@pytest.mark.parametrize(("entry", "expected"), INITIATIVE_CASES)
def test_initiative_errors(
    entry: dict[str, Any], expected: str, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=[entry]))
    assert errors_of(path, catalogs) == [expected]


def test_unknown_model_in_a_config_file_names_that_file(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    write_yaml("configs/b.yaml", measure_config("regression_discontinuity"))
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=[initiative("b", "configs/b.yaml")]))
    assert errors_of(path, catalogs) == [
        "configs/b.yaml: MEASUREMENT.MODEL: must be one of 'experiment', "
        "'interrupted_time_series', 'synthetic_control', 'nearest_neighbour_matching', "
        "'subclassification' or 'metrics_approximation'"
    ]


def test_duplicate_initiative_id(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    entries = [initiative("a", measure_config()), initiative("a", measure_config())]
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=entries))
    assert errors_of(path, catalogs) == [
        "manifest.yaml: INITIATIVES[1].initiative_id: duplicate 'a'"
    ]


STAGE_CASES = [
    (
        {"ALLOCATE": {"component": "Nope"}},
        "manifest.yaml: ALLOCATE.component: unknown component 'Nope' "
        "(known: Allocate, MinimaxRegretAllocate)",
    ),
    (
        {"EVALUATE": {"confidense": 0.3}},
        "manifest.yaml: EVALUATE.confidense: unknown argument for Evaluate "
        "(accepted: confidence, estimates)",
    ),
    (
        {"ALLOCATE": {"rule": "bogus"}},
        "manifest.yaml: ALLOCATE: Allocate: rule: unknown rule 'bogus'",
    ),
    ({"MEASURE": 3}, "manifest.yaml: MEASURE: must be a path or a mapping"),
    ({"MEASURE": "stages/none.yaml"}, "manifest.yaml: MEASURE: file not found: stages/none.yaml"),
]


@pytest.mark.parametrize(("override", "expected"), [*RUN_LEVEL_CASES, *STAGE_CASES])
def test_run_level_and_stage_errors(
    override: dict[str, Any], expected: str, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    assert errors_for(write_yaml, catalogs, **override) == [expected]


def test_stage_file_errors_name_the_stage_file(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    write_yaml("stages/allocate.yaml", {"component": "Allocate", "rul": "bayesian"})
    path = write_yaml("manifest.yaml", manifest(ALLOCATE="stages/allocate.yaml"))
    assert errors_of(path, catalogs) == [
        "stages/allocate.yaml: rul: unknown argument for Allocate (accepted: rule)"
    ]


def test_every_error_is_collected(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    write_yaml("configs/c.yaml", {"DATA": {"SOURCE": {"type": "simulator"}}, "MEASUREMENT": {}})
    entries = [
        initiative("a", measure_config()),
        initiative("a", "configs/missing.yaml"),
        initiative("c", "configs/c.yaml", cost=-5),
    ]
    content = manifest(budget=0, INITIATIVES=entries, EVALUATE={"x": 1})
    path = write_yaml("manifest.yaml", content)
    assert errors_of(path, catalogs) == [
        "manifest.yaml: budget: must be > 0, got 0",
        "manifest.yaml: INITIATIVES[2].cost_to_scale: must be > 0, got -5",
        "manifest.yaml: EVALUATE.x: unknown argument for Evaluate "
        "(accepted: confidence, estimates)",
        "manifest.yaml: INITIATIVES[1].initiative_id: duplicate 'a'",
        "manifest.yaml: INITIATIVES[1].measure_config: file not found: configs/missing.yaml",
        "configs/c.yaml: MEASUREMENT.MODEL: required key is missing",
    ]


def test_data_root_escape_is_rejected(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    root = write_yaml("outside.yaml", measure_config()).parent
    path = write_yaml(
        "project/manifest.yaml", manifest(INITIATIVES=[initiative("a", "../outside.yaml")])
    )
    assert errors_of(path, catalogs) == [
        f"manifest.yaml: INITIATIVES[0].measure_config: path escapes the data root "
        f"{root / 'project'}: ../outside.yaml"
    ]


def test_data_file_escape_inside_a_config_is_rejected(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    config = measure_config()
    config["DATA"]["SOURCE"] = {"type": "file", "CONFIG": {"path": "../../secrets.csv"}}
    root = write_yaml("configs/a.yaml", config).parent.parent
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=[initiative("a", "configs/a.yaml")]))
    assert errors_of(path, catalogs) == [
        f"configs/a.yaml: DATA.SOURCE.CONFIG.path: path escapes the data root {root}: "
        "../../secrets.csv"
    ]


def test_missing_data_file_is_rejected(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    config = measure_config()
    config["DATA"]["SOURCE"] = {"type": "file", "CONFIG": {"path": "data/a.csv"}}
    path = write_yaml("manifest.yaml", manifest(INITIATIVES=[initiative("a", config)]))
    assert errors_of(path, catalogs) == [
        "manifest.yaml: INITIATIVES[0].measure_config.DATA.SOURCE.CONFIG.path: "
        "file not found: data/a.csv"
    ]


def test_not_a_mapping(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    path = write_yaml("manifest.yaml", "- just\n- a list\n")
    assert errors_of(path, catalogs) == ["manifest.yaml: must contain a YAML mapping"]


def test_missing_manifest(tmp_path: Path, catalogs: Catalogs) -> None:
    missing = tmp_path / "nope.yaml"
    assert errors_of(missing, catalogs) == [f"{missing}: file not found"]


def test_error_message_lists_every_problem(write_yaml: WriteYaml, catalogs: Catalogs) -> None:
    path = write_yaml("manifest.yaml", manifest(budget=-1, max_workers=0))
    with pytest.raises(ManifestError, match="budget: must be > 0") as caught:
        load_manifest(path, catalogs=catalogs)
    assert str(caught.value) == (
        "invalid manifest:\n  manifest.yaml: budget: must be > 0, got -1\n"
        "  manifest.yaml: max_workers: must be >= 1, got 0"
    )
    assert isinstance(caught.value, ValueError)
