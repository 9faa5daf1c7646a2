"""The event catalog: names, topics, keys and the shipped schemas."""

import json

import avro.schema
import pytest
from impact_contracts import ConfigError
from impact_schemas import catalog
from impact_schemas.catalog import event_for_topic, parse_version, topic_for
from impact_schemas.examples import MINOR_VERSIONS
from impact_schemas.policy import parse_avro

#: events whose v1 schema has had additive minor bumps (docs/interfaces.md)
MINOR_BUMPS = MINOR_VERSIONS
ENVELOPE = ["schema_version", "run_id", "event_id", "causation_id", "produced_at"]


def test_eleven_events_ship_a_v1_schema() -> None:
    specs = catalog.events()
    assert [s.name for s in specs] == list(catalog.EVENT_NAMES)
    assert len(specs) == 11
    for spec in specs:
        assert spec.raw_schema["namespace"] == "impact.events"
        assert spec.version == MINOR_BUMPS.get(spec.name, "1.0")
        assert [f["name"] for f in spec.raw_schema["fields"][:5]] == ENVELOPE
        assert all(f.get("doc") for f in spec.raw_schema["fields"])


def test_nullable_fields_default_to_null() -> None:
    for spec in catalog.events():
        text = json.dumps(spec.raw_schema)
        for field in json.loads(text)["fields"]:
            if isinstance(field["type"], list):
                assert field["type"][0] == "null"
                assert field["default"] is None


@pytest.mark.parametrize(
    ("event", "prefix", "topic"),
    [
        ("measure_requested", "impact.", "impact.measure.requested.v1"),
        ("run_status", "impact.", "impact.run.status.v1"),
        ("manifest_submitted", "acme.prod.", "acme.prod.manifest.submitted.v1"),
        ("stage_failed", "", "stage.failed.v1"),
    ],
)
def test_topic_for_and_back(event: str, prefix: str, topic: str) -> None:
    assert topic_for(event, prefix=prefix) == topic
    assert event_for_topic(topic).name == event
    assert event_for_topic(topic).major == 1


@pytest.mark.parametrize("topic", ["impact.measure.requested", "impact.nope.v1", "x.v1"])
def test_unknown_topic_is_a_config_error(topic: str) -> None:
    with pytest.raises(ConfigError, match="does not name a known event"):
        event_for_topic(topic)


def test_keys_follow_the_interface_table() -> None:
    value = {"run_id": "r1", "initiative_id": "i9"}
    assert catalog.event_spec("measure_requested").key(value) == "r1:i9"
    assert catalog.event_spec("evaluate_requested").key(value) == "r1:i9"
    assert catalog.event_spec("measure_completed").key(value) == "r1"
    assert catalog.event_spec("allocate_requested").key(value) == "r1"


def test_unknown_event_and_major() -> None:
    with pytest.raises(ConfigError, match="unknown event 'nope'"):
        catalog.load_schema("nope")
    with pytest.raises(ConfigError, match="at major version 2"):
        catalog.load_schema("run_status", major=2)


@pytest.mark.parametrize(
    ("text", "parsed"), [("1.0", (1, 0)), ("1.2", (1, 2)), ("10.31", (10, 31))]
)
def test_parse_version(text: str, parsed: tuple[int, int]) -> None:
    assert parse_version(text) == parsed


@pytest.mark.parametrize("text", ["1", "1.", ".2", "a.b", "1.2.3", ""])
def test_parse_version_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"major\.minor"):
        parse_version(text)


def test_shipped_schemas_parse_with_apache_avro_and_json_fields_are_strings() -> None:
    for spec in catalog.events():
        parsed = parse_avro(spec.raw_schema)
        assert isinstance(parsed, avro.schema.RecordSchema)
        assert parsed.fullname == f"impact.events.{spec.raw_schema['name']}"
    fields = catalog.load_schema("measure_requested")["fields"]
    json_fields = [f["name"] for f in fields if f.get("json")]
    assert json_fields == ["component_kwargs", "measure_config"]
    assert all(f["type"] == "string" and f["default"] == "{}" for f in fields if f.get("json"))
