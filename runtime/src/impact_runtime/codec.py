"""The codec seam: Avro + registry in production, JSON in unit tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import orjson
from impact_contracts import ConfigError, SchemaMismatch
from impact_schemas.events import json_loads


class Codec(Protocol):
    """Encodes logical event dicts to bytes and back (AvroCodec satisfies it)."""

    async def encode(self, event_name: str, value: dict[str, Any], topic: str) -> bytes: ...

    async def decode(self, data: bytes, topic: str) -> dict[str, Any]: ...


@runtime_checkable
class VersionedCodec(Protocol):
    """A codec that knows its writer schema's "X.Y" version for an event."""

    def schema_version(self, event_name: str) -> str: ...


#: orjson writes datetimes as ``isoformat()`` does; dataclasses and subclasses of builtins
#: go to ``_json_default`` (which refuses them, as ``json`` does)
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)


class JsonCodec:
    """A registry-free codec for tests and benchmarks: UTF-8 JSON, any undecodable input
    is a mismatch.

    Written and read by orjson (about ten times faster than ``json``); what orjson
    refuses (non-str keys, integers beyond 64 bits, ``NaN`` on reading) goes through
    ``json``. orjson writes a NaN or infinity as ``null``: no contract accepts them
    (``allow_inf_nan=False``).
    """

    def __init__(self, version: str | None = None) -> None:
        self._version = version

    def schema_version(self, event_name: str) -> str:
        """``version`` if given, else the catalog's version of the event, as the Avro codec
        writes it ("1.0" for an event the catalog does not know)."""
        if self._version is not None:
            return self._version
        from impact_schemas.catalog import event_spec  # the Avro catalog, only when asked

        try:
            return event_spec(event_name).version
        except ConfigError:
            return "1.0"

    async def encode(self, event_name: str, value: dict[str, Any], topic: str) -> bytes:
        """Serialise to JSON with sorted keys; datetimes become ISO strings."""
        try:
            return orjson.dumps(value, default=_json_default, option=_ORJSON_OPTIONS)
        except TypeError:  # beyond orjson: json writes it or says why not
            return json.dumps(value, default=_json_default, sort_keys=True).encode()

    async def decode(self, data: bytes, topic: str) -> dict[str, Any]:
        """Parse JSON objects; anything else raises SchemaMismatch."""
        try:
            value = json_loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SchemaMismatch(f"not a JSON document: {exc}") from exc
        if not isinstance(value, dict):
            raise SchemaMismatch(f"expected a JSON object, got {type(value).__name__}")
        return value


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def avro_codec(schema_registry_url: str) -> Codec:
    """The production codec: Confluent wire format against the schema registry. Nested
    contracts are checked once, by the handler's component, not again while decoding."""
    from impact_schemas.codec import AvroCodec
    from impact_schemas.registry.client import RegistryClient

    codec: Codec = AvroCodec(RegistryClient(schema_registry_url), check_contracts=False)
    return codec


async def close_codec(codec: Codec | None) -> None:
    """Close the registry client of a codec the runtime created (if it has one)."""
    registry = getattr(codec, "registry", None)
    close = getattr(registry, "aclose", None)
    if close is not None:
        await close()
