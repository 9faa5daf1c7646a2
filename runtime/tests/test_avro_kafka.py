"""The Service with the real AvroCodec and schema registry: DLQ reasons for bad wire data."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro
import pytest
from impact_runtime import Incoming, Outgoing, Output, Service
from impact_schemas import wire
from impact_schemas.catalog import load_schema
from impact_schemas.codec import AvroCodec
from impact_schemas.events import schema_version
from impact_schemas.examples import example
from impact_schemas.registry.client import RegistryClient

from runtime.tests.kafka_io import CommittedReader, isolated_settings, produce

pytestmark = pytest.mark.integration


def measured(incoming: Incoming) -> list[Output]:
    result = example("measure_completed")["result"]
    value = {"initiative_id": incoming.value["initiative_id"], "phase": "pilot", "result": result}
    return [Outgoing("measure_completed", incoming.value["run_id"], value)]


async def major_two_bytes(registry: RegistryClient, topic: str) -> bytes:
    """measure_requested written with a "2.0" schema registered under a side subject."""
    schema: dict[str, Any] = {**load_schema("measure_requested"), "version": "2.0"}
    schema_id = await registry.register(f"{topic}-v2-probe", schema)
    record = {**example("measure_requested"), "component_kwargs": "{}", "measure_config": "{}"}
    record["schema_version"] = "2.0"
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return wire.pack(schema_id, buffer.getvalue())


async def test_bad_wire_data_is_dead_lettered_with_its_reason(
    kafka_bootstrap: str, schema_registry_url: str
) -> None:
    settings = isolated_settings(kafka_bootstrap, schema_registry_url=schema_registry_url)
    source = f"{settings.topic_prefix}measure.requested.v1"
    sink = f"{settings.topic_prefix}measure.completed.v1"
    async with RegistryClient(schema_registry_url) as registry:
        codec = AvroCodec(registry)
        good = example("measure_requested")
        good_bytes = await codec.encode("measure_requested", good, source)
        poison = [
            ("magic", b"\x01" + good_bytes[1:]),
            ("unknown-id", wire.pack(987_654, b"\x02")),
            ("major", await major_two_bytes(registry, source)),
            ("garbage", b"\x00\x00"),
        ]
        async with Service(settings, ["measure_requested"], measured):  # default: AvroCodec
            await produce(kafka_bootstrap, source, [*poison, ("good", good_bytes)])
            async with CommittedReader(kafka_bootstrap, f"{source}.dlq") as dlq:
                dead = await dlq.wait_count(4)
            async with CommittedReader(kafka_bootstrap, sink) as reader:
                [out] = await reader.wait_count(1)
        decoded = await codec.decode(out.value, sink)
    dead = sorted(dead, key=lambda d: int(dict(d.headers)["dlq.offset"]))
    assert [d.key for d in dead] == [b"magic", b"unknown-id", b"major", b"garbage"]
    assert [d.value for d in dead] == [value for _, value in poison]
    headers = [dict(d.headers) for d in dead]
    assert {h["dlq.error_type"] for h in headers} == {b"SchemaMismatch"}
    reasons = [h["dlq.reason"].decode() for h in headers]
    assert "magic" in reasons[0].lower()
    assert "unknown schema id 987654" in reasons[1]
    assert reasons[2].startswith("SchemaMismatch: major mismatch: writer 2.0 vs reader 1.x")
    assert decoded["result"]["effect_estimate"] == 12.1
    assert decoded["result"]["diagnostics"] == {
        "r_squared": 0.31,
        "se_type": "HC3",
        "covariates": ["price"],
    }
    assert decoded["causation_id"] == good["event_id"]
    assert decoded["run_id"] == good["run_id"]
    assert decoded["schema_version"] == schema_version("measure_completed")
    assert dict(out.headers)["causation_id"] == good["event_id"].encode()
    assert json.loads(json.dumps(decoded["result"]["ci_lower"])) == 9.4


async def test_a_command_breaking_a_nested_contract_ends_its_initiative(
    kafka_bootstrap: str, schema_registry_url: str
) -> None:
    """The codec rejects the command before any handler sees it; the runtime still knows
    whose command it was, so the run is told (``stage_failed``) instead of waiting."""
    settings = isolated_settings(kafka_bootstrap, schema_registry_url=schema_registry_url)
    source = f"{settings.topic_prefix}measure.requested.v1"
    failed_topic = f"{settings.topic_prefix}stage.failed.v1"
    command = example("measure_requested")
    async with RegistryClient(schema_registry_url) as registry:
        codec = AvroCodec(registry)
        schema = load_schema("measure_requested")
        record = {**command, "component_kwargs": "{}", "measure_config": "[1, 2]"}
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
        schema_id = await registry.register(f"{source}-value", schema)
        bad = wire.pack(schema_id, buffer.getvalue())
        service = Service(settings, ["measure_requested"], measured, failure_stage="measure")
        async with service:
            await produce(kafka_bootstrap, source, [(command["run_id"], bad)])
            async with CommittedReader(kafka_bootstrap, f"{source}.dlq") as dlq:
                [dead] = await dlq.wait_count(1)
            async with CommittedReader(kafka_bootstrap, failed_topic) as reader:
                [out] = await reader.wait_count(1)
        failed = await codec.decode(out.value, failed_topic)
    assert dead.value == bad
    assert dict(dead.headers)["dlq.error_type"] == b"ContractViolation"
    assert (failed["run_id"], failed["stage"]) == (command["run_id"], "measure")
    assert (failed["initiative_id"], failed["phase"]) == (command["initiative_id"], "pilot")
    assert failed["error_type"] == "ContractViolation"
    assert "measure_config" in failed["reason"], failed["reason"]
    assert failed["causation_id"] == command["event_id"]
