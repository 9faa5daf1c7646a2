"""Every later 1.x schema is an additive minor bump of the ones before it: FULL_TRANSITIVE
under the policy, and an older record decodes with the new fields' defaults
(docs/schemas.md, "Versions"). A field added at ``1.N`` says ``(1.N)`` in its ``doc``; the
``1.M`` schema is the shipped one without the fields of later minors."""

from __future__ import annotations

import copy
import io
import re
from typing import Any

import fastavro
import pytest
from impact_schemas.catalog import load_schema
from impact_schemas.events import from_avro, to_avro
from impact_schemas.examples import MINOR_VERSIONS, example
from impact_schemas.policy import check_version_bump

ADDED_IN = re.compile(r"\(1\.(\d+)\)\.?$")
BUMPS = sorted(
    (event, minor)
    for event, version in MINOR_VERSIONS.items()
    for minor in range(int(version.split(".")[1]))
)


def _added_after(field: dict[str, Any], minor: int) -> bool:
    match = ADDED_IN.search(str(field.get("doc", "")))
    return match is not None and int(match.group(1)) > minor


def _strip(node: Any, minor: int) -> Any:
    if isinstance(node, dict):
        node = {k: _strip(v, minor) for k, v in node.items()}
        if node.get("type") == "record":
            node["fields"] = [f for f in node["fields"] if not _added_after(f, minor)]
        return node
    if isinstance(node, list):
        return [_strip(item, minor) for item in node]
    return node


def version(event: str, minor: int) -> dict[str, Any]:
    """The ``1.<minor>`` schema of ``event``."""
    schema = _strip(copy.deepcopy(load_schema(event)), minor)
    schema["version"] = f"1.{minor}"
    return schema


def _value_for(schema: dict[str, Any], value: Any, node: Any = None) -> Any:
    """``value`` without the fields ``schema`` lacks (nested records too)."""
    node = schema if node is None else node
    if isinstance(node, list):
        records = [n for n in node if isinstance(n, dict)]
        return value if value is None or not records else _value_for(schema, value, records[0])
    if not isinstance(node, dict):
        return value
    if node.get("type") == "record" and isinstance(value, dict):
        return {
            f["name"]: _value_for(schema, value[f["name"]], f["type"])
            for f in node["fields"]
            if f["name"] in value
        }
    if node.get("type") == "array" and isinstance(value, list):
        return [_value_for(schema, item, node["items"]) for item in value]
    return value


@pytest.mark.parametrize(("event", "minor"), BUMPS)
def test_the_bump_passes_the_policy(event: str, minor: int) -> None:
    latest = load_schema(event)
    assert latest["version"] == MINOR_VERSIONS[event]
    older = [version(event, m) for m in range(minor + 1)]
    assert check_version_bump(latest, older) == []


@pytest.mark.parametrize(("event", "minor"), BUMPS)
def test_an_older_record_decodes_with_the_defaults(event: str, minor: int) -> None:
    old = version(event, minor)
    value = _value_for(old, example(event))
    value["schema_version"] = f"1.{minor}"
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(old), to_avro(event, value, old))
    buffer.seek(0)
    reader = fastavro.parse_schema(load_schema(event))
    record = fastavro.schemaless_reader(buffer, fastavro.parse_schema(old), reader)
    assert isinstance(record, dict)
    decoded = from_avro(event, record)
    assert decoded["run_id"] == value["run_id"]
    assert set(decoded) == set(example(event))
