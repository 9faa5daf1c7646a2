"""``AvroCodec``: logical event dicts ↔ Confluent wire bytes, through the schema registry."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import fastavro
from impact_contracts import ContractViolation, SchemaMismatch

from impact_schemas import events, wire
from impact_schemas.catalog import EventSpec, event_for_topic, parse_version
from impact_schemas.catalog import subject_for as topic_subject
from impact_schemas.registry.client import RegistryClient
from impact_schemas.registry.errors import SchemaNotFound, SubjectNotFound, VersionNotFound


@dataclass(frozen=True)
class _Route:
    """Everything encoding or decoding one topic needs, resolved on its first event."""

    spec: EventSpec
    schema: dict[str, Any]
    version: str
    parsed: Any
    to_avro: events.Convert
    from_avro: events.Convert
    #: schema id → the reader schema to resolve its data with (``None``: the same schema).
    readers: dict[int, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Writer:
    """A writer schema fetched by id: parsed, with its ``version`` ("" if it has none) and
    that version's major (``None`` without a version)."""

    parsed: Any
    version: str
    major: int | None


class AvroCodec:
    """Encodes and decodes events for a topic, with the schema registry.

    Arguments:
        registry: the registry client (shared; it caches ids and schemas).
        subject_for: topic → subject (TopicNameStrategy ``<topic>-value`` by default).
        schemas: optional event name → schema overrides (tests, staged rollouts); by default
            each event uses this package's ``.avsc`` for the topic's major.
        check_contracts: validate nested contract records on decode (the default). A
            consumer that validates every event it reads at its own boundary (the services'
            components) passes False, so each contract is checked once.

    ``decode`` raises ``SchemaMismatch`` for anything undecodable (bad header, unknown
    schema id, different major, garbage payload) and ``RegistryUnavailable`` (retriable)
    only when the registry cannot be reached. Schemas, their conversions and ids are
    resolved once per topic and schema id, so an event costs its Avro and JSON work only.
    Registry I/O happens only in two awaited, cached lookups: a topic's writer header
    (``header``; ``prepare`` does it ahead, after which ``encode_ready`` encodes without
    awaiting) and an unknown schema id's writer schema on decode.
    """

    def __init__(
        self,
        registry: RegistryClient,
        *,
        subject_for: Callable[[str], str] = topic_subject,
        schemas: Mapping[str, dict[str, Any]] | None = None,
        check_contracts: bool = True,
    ) -> None:
        self.registry = registry
        self.subject_for = subject_for
        self.check_contracts = check_contracts
        self._overrides = dict(schemas or {})
        self._routes: dict[str, _Route] = {}
        self._headers: dict[str, bytes] = {}  # topic → its writer schema's wire header
        self._writers: dict[int, _Writer] = {}

    def schema_for(self, spec: EventSpec) -> dict[str, Any]:
        """The schema this codec writes and reads ``spec``'s event with."""
        override = self._overrides.get(spec.name)
        return override if override is not None else spec.raw_schema

    def _route(self, topic: str) -> _Route:
        route = self._routes.get(topic)
        if route is None:
            spec = event_for_topic(topic)
            override = self._overrides.get(spec.name)
            schema = spec.raw_schema if override is None else override
            parsed = spec.parsed_schema if override is None else fastavro.parse_schema(schema)
            check = self.check_contracts
            route = _Route(
                spec,
                schema,
                str(schema["version"]),
                parsed,
                events.converter(spec.name, schema, decode=False),
                events.converter(
                    spec.name, schema, decode=True, check_contracts=check, in_place=True
                ),
            )
            self._routes[topic] = route
        return route

    async def prepare(self, topics: Iterable[str]) -> None:
        """Register the writer schemas of ``topics`` ahead, so that ``encode`` for them does
        no registry I/O (``encode_ready`` works for them)."""
        for topic in topics:
            await self.header(topic)

    async def encode(self, event: str, value: dict[str, Any], topic: str) -> bytes:
        """Encode a logical event value for ``topic`` (registers the schema once)."""
        header = self._headers.get(topic) or await self.header(topic)
        return self._encode(header, event, value, topic)

    def encode_ready(self, event: str, value: dict[str, Any], topic: str) -> bytes:
        """``encode`` without registry I/O, for a topic ``prepare`` resolved.

        Raises:
            KeyError: ``topic`` was not prepared.
        """
        return self._encode(self._headers[topic], event, value, topic)

    def _encode(self, header: bytes, event: str, value: dict[str, Any], topic: str) -> bytes:
        route = self._routes.get(topic) or self._route(topic)
        if route.spec.name != event:
            raise SchemaMismatch(f"topic {topic!r} carries {route.spec.name}, not {event}")
        record = route.to_avro(value, "")
        if record is value:  # nothing converted: never write into the caller's dict
            record = dict(value)
        record["schema_version"] = route.version
        buffer = io.BytesIO()
        buffer.write(header)
        fastavro.schemaless_writer(buffer, route.parsed, record)
        return buffer.getvalue()

    async def header(self, topic: str) -> bytes:
        """The wire header of ``topic``'s writer schema (registered once: registry I/O)."""
        header = self._headers.get(topic)
        if header is None:
            route = self._routes.get(topic) or self._route(topic)
            schema_id = await self.registry.register(self.subject_for(topic), route.schema)
            header = self._headers[topic] = wire.header(schema_id)
        return header

    async def decode(self, data: bytes, topic: str) -> dict[str, Any]:
        """Decode wire bytes read from ``topic`` into a logical event value.

        Raises:
            SchemaMismatch: bad header, unknown id, writer major != reader major, bad payload.
            ContractViolation: a JSON field is not a JSON object or (with
                ``check_contracts``) a nested record breaks its contract.
            RegistryUnavailable: the registry is unreachable (retry).
        """
        schema_id = wire.schema_id(data)
        writer = self._writers.get(schema_id) or await self._writer(schema_id)
        return self._decode(writer, schema_id, data, topic)

    def _decode(self, writer: _Writer, schema_id: int, data: bytes, topic: str) -> dict[str, Any]:
        """Decode ``data`` written with ``writer`` (no I/O)."""
        route = self._routes.get(topic) or self._route(topic)
        spec = route.spec
        if writer.major is not None and writer.major != spec.major:
            raise SchemaMismatch(
                f"major mismatch: writer {writer.version} vs reader {spec.major}.x "
                f"(schema id {schema_id}, topic {topic})"
            )
        if schema_id in route.readers:
            reader = route.readers[schema_id]
        else:  # fastavro skips resolution when the schemas are equal: compare them once
            reader = route.readers[schema_id] = (
                None if writer.parsed == route.parsed else route.parsed
            )
        buffer = io.BytesIO(data)
        buffer.seek(wire.HEADER_SIZE)
        try:
            record = fastavro.schemaless_reader(buffer, writer.parsed, reader)
        except Exception as exc:  # fastavro raises many types on garbage bytes
            raise SchemaMismatch(
                f"cannot decode {spec.name} with schema id {schema_id}: {type(exc).__name__}: {exc}"
            ) from exc
        if buffer.tell() != len(data):
            raise SchemaMismatch(
                f"cannot decode {spec.name} with schema id {schema_id}: "
                f"{len(data) - buffer.tell()} trailing bytes"
            )
        if not isinstance(record, dict):
            raise SchemaMismatch(f"schema id {schema_id} is not a record schema")
        version = str(record.get("schema_version", ""))
        if version != route.version and _major(version) != spec.major:
            raise SchemaMismatch(f"major mismatch: writer {version} vs reader {spec.major}.x")
        try:
            value: dict[str, Any] = route.from_avro(record, "")
        except ContractViolation as exc:
            scalars = {k: v for k, v in record.items() if isinstance(v, str | int | float | None)}
            raise ContractViolation(str(exc), envelope=scalars) from exc
        return value

    async def _writer(self, schema_id: int) -> _Writer:
        """The parsed writer schema of ``schema_id`` and its ``version``.

        A writer schema with references is parsed after the schemas they name (fetched
        from the registry), in one fastavro ``named_schemas``, so their types are known.
        """
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
        writer = _Writer(parsed, version, _major(version) if version else None)
        self._writers[schema_id] = writer
        return writer


@lru_cache(maxsize=64)
def _major(version: str) -> int:
    try:
        return parse_version(version)[0]
    except ValueError as exc:
        raise SchemaMismatch(f"bad schema_version {version!r}: {exc}") from exc
