"""AvroCodec over the registry (in-memory app and the real server over HTTP)."""

from __future__ import annotations

import copy
import io
from typing import Any

import fastavro
import pytest
from impact_contracts import ContractViolation, SchemaMismatch
from impact_schemas import catalog, events, wire
from impact_schemas.codec import AvroCodec
from impact_schemas.examples import example
from impact_schemas.registry import RegistryClient, RegistryUnavailable


def with_version(schema: dict[str, Any], version: str) -> dict[str, Any]:
    changed = copy.deepcopy(schema)
    changed["version"] = version
    return changed


def status_v1_1() -> dict[str, Any]:
    """run_status 1.1: the 1.0 fields plus a defaulted ``eta_s``."""
    schema = with_version(catalog.load_schema("run_status"), "1.1")
    eta = {"name": "eta_s", "type": ["null", "double"], "default": None, "doc": "ETA."}
    schema["fields"].append(eta)
    return schema


def minus_field(schema: dict[str, Any], name: str, version: str) -> dict[str, Any]:
    older = with_version(schema, version)
    older["fields"] = [f for f in older["fields"] if f["name"] != name]
    return older


@pytest.mark.parametrize("event", catalog.EVENT_NAMES)
async def test_round_trip_every_event(
    client: RegistryClient, topic_prefix: str, event: str
) -> None:
    codec = AvroCodec(client)
    topic = catalog.topic_for(event, prefix=topic_prefix)
    data = await codec.encode(event, example(event), topic)
    schema_id, _ = wire.unpack(data)
    registered = await client.get_version(f"{topic}-value")
    assert (registered.id, registered.version) == (schema_id, 1)
    fresh = AvroCodec(client)  # decodes with nothing cached but the client's schemas
    assert await fresh.decode(data, topic) == example(event)


async def test_older_minor_is_decoded_by_newer_reader(
    client: RegistryClient, topic_prefix: str
) -> None:
    topic = catalog.topic_for("run_status", prefix=topic_prefix)
    reader = status_v1_1()
    writer = minus_field(reader, "eta_s", "1.0")
    old = AvroCodec(client, schemas={"run_status": writer})
    new = AvroCodec(client, schemas={"run_status": reader})
    data = await old.encode("run_status", example("run_status"), topic)
    decoded = await new.decode(data, topic)
    assert decoded == {**example("run_status"), "eta_s": None}
    newer_data = await new.encode("run_status", {**example("run_status"), "eta_s": 12.5}, topic)
    assert await old.decode(newer_data, topic) == {**example("run_status"), "schema_version": "1.1"}
    assert await client.get_versions(f"{topic}-value") == [1, 2]


async def test_major_mismatch_is_a_schema_mismatch(
    client: RegistryClient, topic_prefix: str
) -> None:
    v2_topic = f"{topic_prefix}run.status.v2"
    v2 = with_version(catalog.load_schema("run_status"), "2.0")
    v2["fields"].append({"name": "eta_s", "type": "double", "doc": "Required in 2.0."})
    writer = AvroCodec(client, schemas={"run_status": v2})
    data = await writer.encode("run_status", {**example("run_status"), "eta_s": 1.0}, v2_topic)
    v1_topic = f"{topic_prefix}run.status.v1"
    with pytest.raises(SchemaMismatch, match=r"major mismatch: writer 2\.0 vs reader 1\.x"):
        await AvroCodec(client).decode(data, v1_topic)


async def test_unknown_schema_id(client: RegistryClient, topic_prefix: str) -> None:
    topic = catalog.topic_for("run_status", prefix=topic_prefix)
    with pytest.raises(SchemaMismatch, match=f"unknown schema id {2**31 - 9}"):
        await AvroCodec(client).decode(wire.pack(2**31 - 9, b"\x00"), topic)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "cannot decode run_status"),
        (b"\x02", "cannot decode run_status"),
    ],
)
async def test_garbage_payload(
    client: RegistryClient, topic_prefix: str, payload: bytes, reason: str
) -> None:
    topic = catalog.topic_for("run_status", prefix=topic_prefix)
    codec = AvroCodec(client)
    good = await codec.encode("run_status", example("run_status"), topic)
    schema_id, _ = wire.unpack(good)
    with pytest.raises(SchemaMismatch, match=reason):
        await codec.decode(wire.pack(schema_id, payload), topic)
    with pytest.raises(SchemaMismatch, match="trailing bytes"):
        await codec.decode(good + b"\x00", topic)
    with pytest.raises(SchemaMismatch, match="magic byte 1"):
        await codec.decode(b"\x01" + good[1:], topic)


async def test_contract_violation_on_decode(client: RegistryClient, topic_prefix: str) -> None:
    topic = catalog.topic_for("measure_completed", prefix=topic_prefix)
    value = example("measure_completed")
    value["result"]["sample_size"] = 12
    data = await AvroCodec(client).encode("measure_completed", value, topic)
    with pytest.raises(ContractViolation, match=r"result\.sample_size: Input should be greater"):
        await AvroCodec(client).decode(data, topic)


async def test_encode_checks_the_topic_carries_the_event(client: RegistryClient) -> None:
    with pytest.raises(SchemaMismatch, match="carries run_status, not stage_failed"):
        await AvroCodec(client).encode("stage_failed", example("stage_failed"), "x.run.status.v1")


async def test_unreachable_registry_is_retryable() -> None:
    async with RegistryClient("http://127.0.0.1:9", timeout_s=2.0) as down:
        with pytest.raises(RegistryUnavailable) as caught:
            await AvroCodec(down).decode(wire.pack(1, b""), "impact.run.status.v1")
    assert caught.value.retriable is True


async def test_codec_without_contract_checks_leaves_them_to_the_consumer(
    client: RegistryClient, topic_prefix: str
) -> None:
    """As the services decode: nested contracts are their components' to check; bad JSON
    fields still raise, with the envelope the runtime reports the failure with."""
    topic = catalog.topic_for("measure_completed", prefix=topic_prefix)
    value = example("measure_completed")
    value["result"]["sample_size"] = 12
    codec = AvroCodec(client, check_contracts=False)
    data = await codec.encode("measure_completed", value, topic)
    assert await codec.decode(data, topic) == value
    topic = catalog.topic_for("measure_requested", prefix=topic_prefix)
    record = {**example("measure_requested"), "component_kwargs": "{}", "measure_config": "[1]"}
    buffer = io.BytesIO()
    fastavro.schemaless_writer(
        buffer, catalog.event_spec("measure_requested").parsed_schema, record
    )
    schema_id = await client.register(f"{topic}-value", catalog.load_schema("measure_requested"))
    with pytest.raises(ContractViolation, match="measure_config: expected a JSON object") as bad:
        await codec.decode(wire.pack(schema_id, buffer.getvalue()), topic)
    assert bad.value.envelope["run_id"] == record["run_id"]


async def test_schemas_are_resolved_once_not_per_event(
    client: RegistryClient, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the first event of a topic, encoding and decoding parse, walk or serialise no
    schema again: an event costs its own Avro and JSON work only."""
    calls: list[str] = []
    for module, name in [(fastavro, "parse_schema"), (events, "_collect_named")]:
        original = getattr(module, name)

        def spy(*args: Any, _original: Any = original, _name: str = name, **kw: Any) -> Any:
            calls.append(_name)
            return _original(*args, **kw)

        monkeypatch.setattr(module, name, spy)
    codec = AvroCodec(client, schemas={"run_status": status_v1_1()})
    values = {event: example(event) for event in catalog.EVENT_NAMES}
    values["run_status"] |= {"eta_s": 3.0, "schema_version": "1.1"}
    topics = {event: catalog.topic_for(event, prefix=topic_prefix) for event in values}
    for event, value in values.items():  # the first event of each topic resolves it
        await codec.decode(await codec.encode(event, value, topics[event]), topics[event])
    assert calls
    calls.clear()
    for _ in range(3):
        for event, value in values.items():
            data = await codec.encode(event, value, topics[event])
            assert await codec.decode(data, topics[event]) == value
    assert calls == []


async def test_prepared_topics_encode_without_the_registry(
    client: RegistryClient, topic_prefix: str
) -> None:
    """``prepare`` registers ahead; ``encode_ready`` then writes the same bytes as
    ``encode`` with no registry at hand, and refuses a topic it was not prepared for."""
    topic = catalog.topic_for("run_status", prefix=topic_prefix)
    value = example("run_status")
    codec = AvroCodec(client)
    await codec.prepare([topic])
    header = await codec.header(topic)
    await client.aclose()  # any registry request from here on would fail
    data = codec.encode_ready("run_status", value, topic)
    assert data.startswith(header) and len(header) == wire.HEADER_SIZE
    assert data == await codec.encode("run_status", value, topic)
    with pytest.raises(KeyError):
        codec.encode_ready("run_completed", example("run_completed"), topic + "-other")
