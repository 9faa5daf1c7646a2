"""Publish checks the measure stage's input options (CSV options, date columns, transform
steps, treatment values, time types) with the stage's own models: valid ones pass through
unchanged, malformed ones are errors naming the file and the key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from impact_orchestrator.manifest import Catalogs, ManifestError, load_manifest

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import measure_config

MELT = {
    "FUNCTION": "wide_to_long",
    "PARAMS": {"id_columns": ["year"], "unit_column": "state", "value_column": "cigsale"},
}


def file_config(**source: Any) -> dict[str, Any]:
    config = measure_config(
        "synthetic_control",
        treatment_values={"treated": ["yes"], "control": ["no"]},
        time_type="period",
    )
    config["DATA"] = {
        "SOURCE": {
            "type": "file",
            "CONFIG": {
                "path": "data/wide.csv",
                "csv": {"sep": ";", "decimal": ",", "encoding": "latin-1"},
                "date_columns": {"date": "%d/%m/%Y"},
                **source,
            },
        },
        "TRANSFORM": [
            MELT,
            {"FUNCTION": "filter_rows", "PARAMS": {"column": "state", "exclude": ["US"]}},
        ],
    }
    return config


def manifest(config: Any) -> dict[str, Any]:
    return {
        "budget": 10.0,
        "INITIATIVES": [{"initiative_id": "a", "cost_to_scale": 1.0, "measure_config": config}],
    }


def test_the_input_options_are_accepted_and_passed_on(
    tmp_path: Path, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    write_yaml("data/wide.csv", "year;s1\n1989;1,5\n")
    path = write_yaml("manifest.yaml", manifest(file_config()))
    config = load_manifest(path, catalogs=catalogs).initiatives[0].measure_config
    assert config["DATA"]["SOURCE"]["CONFIG"]["csv"] == {
        "sep": ";",
        "decimal": ",",
        "encoding": "latin-1",
    }
    assert config["DATA"]["TRANSFORM"][0] == MELT
    assert config["MEASUREMENT"]["PARAMS"]["time_type"] == "period"


def bad(**changes: Any) -> dict[str, Any]:
    config = file_config()
    source = config["DATA"]["SOURCE"]["CONFIG"]
    for key, value in changes.items():
        if key in {"csv", "date_columns", "sheet"}:
            source[key] = value
        elif key == "TRANSFORM":
            config["DATA"]["TRANSFORM"] = value
        else:
            config["MEASUREMENT"]["PARAMS"][key] = value
    return config


PREFIX = "manifest.yaml: INITIATIVES[0].measure_config."
CASES = [
    (
        bad(csv={"sep": ";", "encoding": "latin-9x"}),
        "DATA.SOURCE.CONFIG.csv.encoding: unknown encoding 'latin-9x' (e.g. utf-8, latin-1, "
        "cp1252)",
    ),
    (
        bad(csv={"decimal": ",,"}),
        "DATA.SOURCE.CONFIG.csv.decimal: String should have at most 1 character",
    ),
    (bad(csv={"delimiter": ";"}), "DATA.SOURCE.CONFIG.csv.delimiter: unknown key"),
    (bad(sheet="Sheet1"), "DATA.SOURCE.CONFIG.sheet: unknown key"),
    (bad(date_columns=["date"]), "DATA.SOURCE.CONFIG.date_columns: must be a mapping"),
    (
        bad(TRANSFORM=[MELT, {"FUNCTION": "filter_rows", "PARAMS": {"exclude": ["US"]}}]),
        "DATA.TRANSFORM[1].PARAMS.column: required key is missing",
    ),
    (
        bad(TRANSFORM={"FUNCTION": "wide_to_long", "PARAMS": {"id_columns": []}}),
        "DATA.TRANSFORM.PARAMS.id_columns: must have at least 1 item(s)",
    ),
    (
        bad(time_type="year"),
        "MEASUREMENT.PARAMS.time_type: must be one of 'auto', 'period' or 'date'",
    ),
    (
        bad(treatment_values={"treated": ["yes"]}),
        "MEASUREMENT.PARAMS.treatment_values.control: required key is missing",
    ),
    (
        bad(treatment_values={"treated": [], "control": ["no"]}),
        "MEASUREMENT.PARAMS.treatment_values.treated: must have at least 1 item(s)",
    ),
]


@pytest.mark.parametrize(("config", "expected"), CASES)
def test_malformed_input_options_name_the_file_and_key(
    config: dict[str, Any], expected: str, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    write_yaml("data/wide.csv", "year;s1\n1989;1,5\n")
    path = write_yaml("manifest.yaml", manifest(config))
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, catalogs=catalogs)
    assert caught.value.errors == [PREFIX + expected]


def test_a_scale_section_is_checked_in_its_own_file(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    write_yaml("data/wide.csv", "year;s1\n1989;1,5\n")
    write_yaml("data/scale.csv", "year;s1\n1990;2,5\n")
    config = file_config(path="wide.csv")
    config["SCALE"] = {"DATA": {"SOURCE": {"CONFIG": {"path": "scale.csv", "csv": {"sep": 1}}}}}
    write_yaml("data/a.yaml", config)
    path = write_yaml("manifest.yaml", manifest("data/a.yaml"))
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, catalogs=catalogs)
    assert caught.value.errors == [
        "data/a.yaml: SCALE.DATA.SOURCE.CONFIG.csv.sep: must be a string"
    ]
