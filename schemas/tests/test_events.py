"""Logical ↔ Avro conversion for every event, through real Avro bytes."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from impact_contracts import ContractViolation
from impact_schemas import catalog, events
from impact_schemas.events import from_avro, new_envelope, schema_version, to_avro
from impact_schemas.examples import EXAMPLES, example


def through_avro(event: str, value: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    parsed = catalog.event_spec(event).parsed_schema
    fastavro.schemaless_writer(buffer, parsed, to_avro(event, value))
    buffer.seek(0)
    return fastavro.schemaless_reader(buffer, parsed, None)  # type: ignore[return-value]


def test_every_event_has_an_example() -> None:
    assert sorted(EXAMPLES) == sorted(catalog.EVENT_NAMES)


@pytest.mark.parametrize("event", catalog.EVENT_NAMES)
def test_round_trip_through_avro_bytes(event: str) -> None:
    value = example(event)
    assert from_avro(event, through_avro(event, value)) == value


def test_free_form_mappings_are_json_strings_on_the_wire() -> None:
    record = to_avro("measure_requested", example("measure_requested"))
    assert record["component_kwargs"] == "{}"
    assert json.loads(record["measure_config"])["MEASUREMENT"]["MODEL"] == "experiment"
    manifest = to_avro("manifest_submitted", example("manifest_submitted"))
    assert manifest["allocate"]["kwargs"] == '{"min_confidence_threshold":0.3,"time_limit_s":30}'
    assert isinstance(manifest["initiatives"][1]["measure_config"], str)
    completed = to_avro("measure_completed", example("measure_completed"))
    assert json.loads(completed["result"]["diagnostics"]) == {
        "covariates": ["price"],
        "r_squared": 0.31,
        "se_type": "HC3",
    }


def test_to_avro_fills_schema_version_and_does_not_mutate_input() -> None:
    value = example("run_status")
    del value["schema_version"]
    record = to_avro("run_status", value)
    assert record["schema_version"] == "1.0" == schema_version("run_status")
    assert "schema_version" not in value


def test_decode_rejects_a_broken_contract_naming_the_field() -> None:
    record = to_avro("measure_completed", example("measure_completed"))
    record["result"]["ci_upper"] = 10.0  # effect 12.1 now lies outside [9.4, 10.0]
    with pytest.raises(ContractViolation, match=r"MeasureResult: result: effect_estimate: 12.1"):
        from_avro("measure_completed", record)


def test_decode_rejects_contract_field_errors_inside_arrays() -> None:
    record = to_avro("allocate_requested", example("allocate_requested"))
    record["initiatives"][1]["confidence"] = 1.5
    with pytest.raises(ContractViolation, match=r"initiatives\[1\]\.confidence: Input should be"):
        from_avro("allocate_requested", record)


def test_decode_rejects_invalid_json_and_non_objects() -> None:
    record = to_avro("measure_requested", example("measure_requested"))
    with pytest.raises(ContractViolation, match=r"measure_requested\.measure_config: invalid JSON"):
        from_avro("measure_requested", {**record, "measure_config": "{nope"})
    with pytest.raises(ContractViolation, match="component_kwargs: expected a JSON object"):
        from_avro("measure_requested", {**record, "component_kwargs": "[1, 2]"})


def test_encode_rejects_a_non_mapping_json_field() -> None:
    value = example("measure_requested")
    value["measure_config"] = "already a string"
    with pytest.raises(ContractViolation, match="measure_config: expected a mapping"):
        to_avro("measure_requested", value)


def test_errors_name_the_whole_path_of_the_bad_value() -> None:
    """Paths are put together while the error unwinds: field names, array indexes."""
    value = example("manifest_submitted")
    value["initiatives"][1]["measure_config"] = 3
    with pytest.raises(ContractViolation) as bad:
        to_avro("manifest_submitted", value)
    assert str(bad.value) == (
        "manifest_submitted.initiatives[1].measure_config: expected a mapping, got 3"
    )
    record = to_avro("manifest_submitted", example("manifest_submitted"))
    record["initiatives"][1]["measure_config"] = "{nope"
    with pytest.raises(
        ContractViolation,
        match=r"^manifest_submitted\.initiatives\[1\]\.measure_config: invalid JSON: ",
    ) as bad:
        from_avro("manifest_submitted", record)
    assert isinstance(bad.value.__cause__, ValueError)
    with pytest.raises(
        ContractViolation, match=r"^manifest_submitted\.: expected a mapping, got \[\]$"
    ):
        from_avro("manifest_submitted", [])  # type: ignore[arg-type]


def test_new_envelope() -> None:
    before = datetime.now(UTC)
    envelope = new_envelope("run-1", causation_id="cause-1")
    assert set(envelope) == {"run_id", "event_id", "causation_id", "produced_at"}
    assert envelope["run_id"] == "run-1"
    assert envelope["causation_id"] == "cause-1"
    assert len(envelope["event_id"]) == 36
    assert new_envelope("run-1")["event_id"] != envelope["event_id"]
    produced_at = envelope["produced_at"]
    assert produced_at.tzinfo is UTC
    assert produced_at.microsecond % 1000 == 0
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= produced_at


def test_envelope_survives_timestamp_millis() -> None:
    value = {**example("run_status"), **new_envelope("run-9")}
    assert from_avro("run_status", through_avro("run_status", value)) == value


def test_decode_without_contract_checks_keeps_the_json_checks() -> None:
    """For a consumer that checks each event at its own boundary: contracts are left to
    it, but what the conversion itself needs (JSON objects) is still checked."""
    record = to_avro("measure_completed", example("measure_completed"))
    record["result"]["sample_size"] = 12
    decoded = from_avro("measure_completed", record, check_contracts=False)
    assert decoded["result"]["sample_size"] == 12
    assert decoded["result"]["diagnostics"] == example("measure_completed")["result"]["diagnostics"]
    with pytest.raises(ContractViolation, match=r"result\.sample_size: Input should be greater"):
        from_avro("measure_completed", record)
    record["result"]["diagnostics"] = "[1, 2]"
    with pytest.raises(ContractViolation, match=r"result\.diagnostics: expected a JSON object"):
        from_avro("measure_completed", record, check_contracts=False)


def test_each_schema_is_compiled_once_per_direction() -> None:
    schema = catalog.load_schema("measure_completed")
    encode = events.converter("measure_completed", schema, decode=False)
    assert events.converter("measure_completed", schema, decode=False) is encode
    decode = events.converter("measure_completed", schema, decode=True)
    unchecked = events.converter("measure_completed", schema, decode=True, check_contracts=False)
    assert len({id(encode), id(decode), id(unchecked)}) == 3
    copy = json.loads(json.dumps(schema))  # an equal schema object is compiled on its own
    assert events.converter("measure_completed", copy, decode=False) is not encode


JSON_TEXTS = ["{}", '{"a":1}', ' {"a": 1}', '{"a":1} ', '{"a":1}x', "[1, 2]", "{nope", ""]
ODD_JSON = ["\ufeff{}", "NaN", '{"a":NaN}', b'{"a":1}', None, 12]


@pytest.mark.parametrize("text", [*JSON_TEXTS, *ODD_JSON])
def test_json_fields_read_exactly_as_json_loads(text: Any) -> None:
    """The fast path for compact objects reads (and rejects) what ``json.loads`` does."""
    try:
        expected: Any = json.loads(text)
    except Exception as exc:  # the outcome to compare, whatever it is
        with pytest.raises(type(exc)) as caught:
            events.json_loads(text)
        assert str(caught.value) == str(exc)
    else:
        assert repr(events.json_loads(text)) == repr(expected)  # repr: NaN equals itself


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(st.text(), JSON_VALUES, max_size=5), compact=st.booleans())
def test_json_fields_read_any_json_text_as_json_loads(value: dict, compact: bool) -> None:
    """orjson reads a text only where it reads the same value as ``json`` (big integers,
    float digits, escapes, surrogates: decision 0073)."""
    text = json.dumps(value, separators=(",", ":") if compact else None, ensure_ascii=compact)
    assert repr(events.json_loads(text)) == repr(json.loads(text))


def test_empty_mappings_are_written_as_json_dumps_writes_them() -> None:
    record = to_avro("measure_requested", {**example("measure_requested"), "component_kwargs": {}})
    assert record["component_kwargs"] == json.dumps({}, sort_keys=True, separators=(",", ":"))


WRITTEN = [
    {"b": 1, "a": {"z": [1, 2.5, True, None], "y": "x"}},
    {"text": 'é ✓ \u2028 \x7f \x1f "quoted" \\', "small": 1e-05, "large": 1e16, "neg": -0.0},
    {"long": 2**70, "ratio": 0.30000000000000004, "int_key_dict": {"1": 2}},
    {"nested": {"deep": {"deeper": {"list": [{"k": "v"}]}}}},
]


@pytest.mark.parametrize("value", WRITTEN)
def test_json_fields_read_back_as_written_by_this_and_the_old_writer(value: dict) -> None:
    """The wire text may differ in form from the standard library's (decision 0073), never
    in what it reads back as; and text the old writer (``json``) wrote still reads."""
    record = to_avro("measure_requested", {**example("measure_requested"), "measure_config": value})
    assert json.loads(record["measure_config"]) == value
    assert from_avro("measure_requested", record)["measure_config"] == value
    old = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    old_record = {**record, "measure_config": old}
    assert from_avro("measure_requested", old_record)["measure_config"] == value


def test_integers_beyond_64_bits_stay_integers() -> None:
    value = {"long": 2**70, "negative": -(2**65)}
    record = to_avro("measure_requested", {**example("measure_requested"), "measure_config": value})
    decoded = from_avro("measure_requested", record)["measure_config"]
    assert decoded == value
    assert all(type(v) is int for v in decoded.values())


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"x": float("nan")}, "Out of range float"),
        ({"x": object()}, "Object of type object is not JSON serializable"),
    ],
)
def test_json_fields_refuse_what_json_refuses(value: dict, error: str) -> None:
    with pytest.raises(ContractViolation, match=f"measure_config: not JSON-serialisable: {error}"):
        to_avro("measure_requested", {**example("measure_requested"), "measure_config": value})


def test_json_fields_write_non_string_keys_as_json_does() -> None:
    record = to_avro(
        "measure_requested", {**example("measure_requested"), "measure_config": {1: 2}}
    )
    assert record["measure_config"] == '{"1":2}'


def test_an_in_place_decode_names_the_failing_item_not_an_earlier_converted_one() -> None:
    """Decoding in place (the codec's path) converts the items before the bad one
    already: the error must still name the bad item's index."""
    schema = events.load_schema("manifest_submitted")
    record = to_avro("manifest_submitted", example("manifest_submitted"))
    record["initiatives"][1]["measure_config"] = "{nope"
    decode = events.converter("manifest_submitted", schema, decode=True, in_place=True)
    with pytest.raises(ContractViolation, match=r"^manifest_submitted\.initiatives\[1\]\.") as bad:
        decode(record, "")
    assert "invalid JSON" in str(bad.value)
