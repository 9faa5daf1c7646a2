"""Decoding a message whose writer schema uses references (a foreign producer's layout).

The writer registers ``MeasureResult`` as its own subject and ``measure_completed`` with a
reference to it; ``AvroCodec`` resolves the reference through the registry and decodes
with the event's own reader schema.
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import fastavro
import pytest
from impact_schemas import catalog, events, wire
from impact_schemas.codec import AvroCodec
from impact_schemas.examples import example
from impact_schemas.registry import RegistryClient, SchemaReference

EVENT = "measure_completed"


def split_result(topic_prefix: str) -> tuple[str, dict[str, Any], dict[str, Any], str]:
    """``(topic, writer, result, results subject)``: the event's topic, its schema with the
    ``result`` record moved out, that record, and the subject to register it under."""
    writer = copy.deepcopy(catalog.load_schema(EVENT))
    field = next(f for f in writer["fields"] if f["name"] == "result")
    result = {**field["type"], "namespace": writer["namespace"]}
    field["type"] = f"{writer['namespace']}.{result['name']}"
    topic = catalog.topic_for(EVENT, prefix=topic_prefix)
    return topic, writer, result, f"{topic_prefix}impact.events.MeasureResult"


def encode(writer: dict[str, Any], result: dict[str, Any], schema_id: int) -> bytes:
    """The example event as a producer with this split writer schema writes it."""
    named: dict[str, Any] = {}
    fastavro.parse_schema(result, named)
    parsed = fastavro.parse_schema(writer, named)
    record = events.to_avro(EVENT, example(EVENT), catalog.load_schema(EVENT))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, record)
    return wire.pack(schema_id, buffer.getvalue())


async def test_a_writer_schema_with_references_is_decoded(
    client: RegistryClient, topic_prefix: str
) -> None:
    topic, writer, result, results = split_result(topic_prefix)
    await client.register(results, result)
    reference = SchemaReference("impact.events.MeasureResult", results, 1)
    schema_id = await client.register(f"{topic}-value", writer, (reference,))
    data = encode(writer, result, schema_id)
    client.clear_cache()
    assert await AvroCodec(client).decode(data, topic) == example(EVENT)


@pytest.mark.integration
async def test_confluent_kafka_registers_references_that_we_decode(
    schema_registry_url: str, topic_prefix: str
) -> None:
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry import SchemaReference as ConfluentReference
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic, writer, result, results = split_result(topic_prefix)
    confluent = SchemaRegistryClient({"url": schema_registry_url})
    confluent.register_schema(results, Schema(json.dumps(result), "AVRO"))
    name = "impact.events.MeasureResult"
    refs = [ConfluentReference(name, results, 1)]
    schema_id = confluent.register_schema(
        f"{topic}-value", Schema(json.dumps(writer), "AVRO", refs)
    )
    assert confluent.get_referenced_by(results, 1) == [schema_id]
    fetched = confluent.get_schema(schema_id)
    references = fetched.references or []
    assert [(r.name, r.subject, r.version) for r in references] == [(name, results, 1)]

    serializer = AvroSerializer(
        confluent, conf={"auto.register.schemas": False, "use.latest.version": True}
    )
    record = events.to_avro(EVENT, example(EVENT), catalog.load_schema(EVENT))
    data = serializer(record, SerializationContext(topic, MessageField.VALUE))
    assert data is not None and wire.unpack(data)[0] == schema_id
    async with RegistryClient(schema_registry_url) as ours:
        registered = await ours.get_version(f"{topic}-value")
        assert registered.references == (SchemaReference(name, results, 1),)
        assert await AvroCodec(ours).decode(data, topic) == example(EVENT)
