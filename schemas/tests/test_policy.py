"""The version policy over schema pairs, with expected verdicts per level."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from impact_schemas.catalog import load_schema
from impact_schemas.policy import LEVELS, check_compatible, check_version_bump


def record(*fields: dict[str, Any], version: str = "1.0") -> dict[str, Any]:
    return {"type": "record", "name": "E", "version": version, "fields": list(fields)}


ID = {"name": "id", "type": "string"}
N_INT = {"name": "n", "type": "int"}
N_LONG = {"name": "n", "type": "long"}
N_STRING = {"name": "n", "type": "string"}
NOTE_DEFAULT = {"name": "note", "type": ["null", "string"], "default": None}
NOTE_REQUIRED = {"name": "note", "type": "string"}
COLOR_2 = {"name": "c", "type": {"type": "enum", "name": "C", "symbols": ["RED", "BLUE"]}}
COLOR_3 = {"name": "c", "type": {"type": "enum", "name": "C", "symbols": ["RED", "BLUE", "GREEN"]}}
U_NARROW = {"name": "u", "type": ["null", "string"], "default": None}
U_WIDE = {"name": "u", "type": ["null", "string", "long"], "default": None}

# (old, new, verdict per level: BACKWARD, FORWARD, FULL) — True = compatible
CASES = {
    "add field with default": (record(ID), record(ID, NOTE_DEFAULT), (True, True, True)),
    "add field without default": (record(ID), record(ID, NOTE_REQUIRED), (False, True, False)),
    "remove field with default": (record(ID, NOTE_DEFAULT), record(ID), (True, True, True)),
    "remove field without default": (record(ID, NOTE_REQUIRED), record(ID), (True, False, False)),
    "change type string to int": (record(ID, N_STRING), record(ID, N_INT), (False, False, False)),
    "promote int to long": (record(ID, N_INT), record(ID, N_LONG), (True, False, False)),
    "enum symbol added": (record(COLOR_2), record(COLOR_3), (True, False, False)),
    "union widened": (record(U_NARROW), record(U_WIDE), (True, False, False)),
    "identical": (record(ID, N_INT), record(ID, N_INT), (True, True, True)),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("level", "index"), [("BACKWARD", 0), ("FORWARD", 1), ("FULL", 2)])
def test_verdicts_against_one_earlier_version(case: str, level: str, index: int) -> None:
    old, new, verdicts = CASES[case]
    reasons = check_compatible(new, [old], level)
    assert (reasons == []) is verdicts[index], reasons
    transitive = check_compatible(new, [old], f"{level}_TRANSITIVE")
    assert transitive == reasons


@pytest.mark.parametrize("case", CASES)
def test_none_accepts_everything(case: str) -> None:
    old, new, _ = CASES[case]
    assert check_compatible(new, [old], "NONE") == []


def test_reasons_name_the_checker_finding_and_location() -> None:
    reasons = check_compatible(record(ID, NOTE_REQUIRED), [record(ID)], "FULL_TRANSITIVE")
    assert reasons == [
        "existing schema #1 of 1: new schema cannot read old data: "
        "reader_field_missing_default_value at /fields/1 (note)"
    ]


def test_transitive_checks_every_earlier_version() -> None:
    v1 = record(ID, N_INT)
    v2 = record(ID)  # dropped n (no default): breaks FORWARD from v1's readers
    v3 = record(ID, NOTE_DEFAULT)
    assert check_compatible(v3, [v1, v2], "FORWARD") == []
    reasons = check_compatible(v3, [v1, v2], "FORWARD_TRANSITIVE")
    assert len(reasons) == 1
    assert reasons[0].startswith("existing schema #1 of 2: old schema cannot read new data")


def test_every_level_is_known_and_bogus_is_not() -> None:
    assert LEVELS == (
        "NONE",
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
    )
    with pytest.raises(ValueError, match="unknown compatibility level 'SIDEWAYS'"):
        check_compatible(record(ID), [record(ID)], "SIDEWAYS")


def test_unparsable_schema_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="invalid Avro schema"):
        check_compatible('{"type": "record"}', [record(ID)], "FULL")


def test_minor_bump_of_a_shipped_schema_passes_the_policy() -> None:
    v1_0 = load_schema("run_status")
    v1_1 = copy.deepcopy(v1_0)
    v1_1["version"] = "1.1"
    v1_1["fields"].append({"name": "eta_s", "type": ["null", "double"], "default": None})
    assert check_version_bump(v1_1, [v1_0]) == []


def test_policy_rejects_required_field_stale_minor_and_major_bump() -> None:
    v1_0 = record(ID)
    bad_minor = record(ID, NOTE_REQUIRED, version="1.1")
    assert len(check_version_bump(bad_minor, [v1_0])) == 1
    same_minor = record(ID, NOTE_DEFAULT, version="1.0")
    assert check_version_bump(same_minor, [v1_0]) == ["version 1.0 is not newer than 1.0"]
    major = record(ID, NOTE_DEFAULT, version="2.0")
    assert check_version_bump(major, [v1_0])[0].endswith("needs a new subject and topic (.v2)")
