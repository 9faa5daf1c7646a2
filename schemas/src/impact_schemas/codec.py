"""``AvroCodec``: logical event dicts ↔ Confluent wire bytes, through the schema registry."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from typing import Any

import fastavro
from impact_contracts import ContractViolation, SchemaMismatch

from impact_schemas import events, wire
from impact_schemas.catalog import EventSpec, event_for_topic, parse_version
from impact_schemas.catalog import subject_for as topic_subject
from impact_schemas.registry.client import RegistryClient
from impact_schemas.registry.errors import SchemaNotFound, SubjectNotFound, VersionNotFound


class AvroCodec:
    """Encodes and decodes events for a topic, with the schema registry.

    Arguments:
        registry: the registry client (shared; it caches ids and schemas).
        subject_for: topic → subject (TopicNameStrategy ``<topic>-value`` by default).
        schemas: optional event name → schema overrides (tests, staged rollouts); by default
            each event uses this package's ``.avsc`` for the topic's major.

    ``decode`` raises ``SchemaMismatch`` for anything undecodable (bad header, unknown
    schema id, different major, garbage payload) and ``RegistryUnavailable`` (retriable)
    only when the registry cannot be reached.
    """

    def __init__(
        self,
        registry: RegistryClient,
        *,
        subject_for: Callable[[str], str] = topic_subject,
        schemas: Mapping[str, dict[str, Any]] | None = None,
    ) -> None:
        self.registry = registry
        self.subject_for = subject_for
        self._overrides = dict(schemas or {})
        self._writer_ids: dict[tuple[str, str], int] = {}
        self._writers: dict[int, tuple[Any, str]] = {}
        self._parsed: dict[str, Any] = {}

    def schema_for(self, spec: EventSpec) -> dict[str, Any]:
        """The schema this codec writes and reads ``spec``'s event with."""
        override = self._overrides.get(spec.name)
        return override if override is not None else spec.raw_schema

    def _parsed_schema(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._parsed:
            self._parsed[key] = fastavro.parse_schema(schema)
        return self._parsed[key]

    async def encode(self, event: str, value: dict[str, Any], topic: str) -> bytes:
        """Encode a logical event value for ``topic`` (registers the schema once)."""
        spec = event_for_topic(topic)
        if spec.name != event:
            raise SchemaMismatch(f"topic {topic!r} carries {spec.name}, not {event}")
        schema = self.schema_for(spec)
        record = events.to_avro(event, value, schema)
        record["schema_version"] = str(schema["version"])
        schema_id = await self._writer_id(topic, schema)
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, self._parsed_schema(schema), record)
        return wire.pack(schema_id, buffer.getvalue())

    async def _writer_id(self, topic: str, schema: dict[str, Any]) -> int:
        key = (topic, str(schema["version"]))
        if key not in self._writer_ids:
            self._writer_ids[key] = await self.registry.register(self.subject_for(topic), schema)
        return self._writer_ids[key]

    async def decode(self, data: bytes, topic: str) -> dict[str, Any]:
        """Decode wire bytes read from ``topic`` into a logical event value.

        Raises:
            SchemaMismatch: bad header, unknown id, writer major != reader major, bad payload.
            ContractViolation: a nested record breaks its contract.
            RegistryUnavailable: the registry is unreachable (retry).
        """
        spec = event_for_topic(topic)
        schema_id, payload = wire.unpack(data)
        writer, writer_version = await self._writer(schema_id)
        if writer_version and _major(writer_version) != spec.major:
            raise SchemaMismatch(
                f"major mismatch: writer {writer_version} vs reader {spec.major}.x "
                f"(schema id {schema_id}, topic {topic})"
            )
        reader_schema = self.schema_for(spec)
        buffer = io.BytesIO(payload)
        try:
            record = fastavro.schemaless_reader(buffer, writer, self._parsed_schema(reader_schema))
        except Exception as exc:  # fastavro raises many types on garbage bytes
            raise SchemaMismatch(
                f"cannot decode {spec.name} with schema id {schema_id}: {type(exc).__name__}: {exc}"
            ) from exc
        if buffer.tell() != len(payload):
            raise SchemaMismatch(
                f"cannot decode {spec.name} with schema id {schema_id}: "
                f"{len(payload) - buffer.tell()} trailing bytes"
            )
        if not isinstance(record, dict):
            raise SchemaMismatch(f"schema id {schema_id} is not a record schema")
        version = str(record.get("schema_version", ""))
        if _major(version) != spec.major:
            raise SchemaMismatch(f"major mismatch: writer {version} vs reader {spec.major}.x")
        try:
            return events.from_avro(spec.name, record, reader_schema)
        except ContractViolation as exc:
            scalars = {k: v for k, v in record.items() if isinstance(v, str | int | float | None)}
            raise ContractViolation(str(exc), envelope=scalars) from exc

    async def _writer(self, schema_id: int) -> tuple[Any, str]:
        """The parsed writer schema of ``schema_id`` and its ``version``.

        A writer schema with references is parsed after the schemas they name (fetched
        from the registry), in one fastavro ``named_schemas``, so their types are known.
        """
        if schema_id not in self._writers:
            try:
                text, references = await self.registry.get_schema(schema_id)
                dependencies = await self.registry.referenced_schemas(references)
            except (SchemaNotFound, VersionNotFound, SubjectNotFound) as exc:
                raise SchemaMismatch(f"unknown schema id {schema_id}: {exc.message}") from exc
            try:
                named: dict[str, Any] = {}
                for dependency in dependencies:
                    fastavro.parse_schema(json.loads(dependency), named)
                raw = json.loads(text)
                parsed = fastavro.parse_schema(raw, named)
            except Exception as exc:
                raise SchemaMismatch(f"schema id {schema_id} is not valid Avro: {exc}") from exc
            version = str(raw.get("version", "")) if isinstance(raw, dict) else ""
            self._writers[schema_id] = (parsed, version)
        return self._writers[schema_id]


def _major(version: str) -> int:
    try:
        return parse_version(version)[0]
    except ValueError as exc:
        raise SchemaMismatch(f"bad schema_version {version!r}: {exc}") from exc
