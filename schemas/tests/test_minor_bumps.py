"""The 1.1 schemas of ``measure_completed`` and ``run_completed`` are additive minor bumps
of the shipped 1.0 ones: FULL_TRANSITIVE under the policy, and 1.0 records decode with the
new fields' defaults (docs/schemas.md, "Versions")."""

from __future__ import annotations

import copy
import io
from typing import Any

import fastavro
import pytest
from impact_schemas.catalog import load_schema
from impact_schemas.events import from_avro, to_avro
from impact_schemas.examples import example
from impact_schemas.policy import check_version_bump

#: the fields 1.1 added, with the defaults a 1.0 record decodes to
ADDED: dict[str, dict[str, Any]] = {
    "measure_completed": {"cached": False},
    "run_completed": {"pilots": [], "cached": {}},
}


def version_1_0(event: str) -> dict[str, Any]:
    schema = copy.deepcopy(load_schema(event))
    schema["version"] = "1.0"
    schema["fields"] = [f for f in schema["fields"] if f["name"] not in ADDED[event]]
    return schema


@pytest.mark.parametrize("event", sorted(ADDED))
def test_the_bump_passes_the_policy(event: str) -> None:
    assert load_schema(event)["version"] == "1.1"
    assert check_version_bump(load_schema(event), [version_1_0(event)]) == []


@pytest.mark.parametrize("event", sorted(ADDED))
def test_a_1_0_record_decodes_with_the_defaults(event: str) -> None:
    old = version_1_0(event)
    value = {k: v for k, v in example(event).items() if k not in ADDED[event]}
    value["schema_version"] = "1.0"
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(old), to_avro(event, value, old))
    buffer.seek(0)
    reader = fastavro.parse_schema(load_schema(event))
    record = fastavro.schemaless_reader(buffer, fastavro.parse_schema(old), reader)
    assert isinstance(record, dict)
    decoded = from_avro(event, record)
    assert {name: decoded[name] for name in ADDED[event]} == ADDED[event]
