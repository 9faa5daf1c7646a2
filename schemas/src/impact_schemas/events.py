"""Logical event dicts ↔ Avro record dicts.

Handlers and components see *logical* dicts: free-form mappings (fields marked
``"json": true`` in the ``.avsc``) are dicts. On the wire they are JSON strings
(decision 0002). Decoding also validates every nested contract record
(``MeasureResult``, ``EvaluateResult``, ...) with its pydantic model, unless the consumer
checks the whole event at its own boundary (``check_contracts=False``). Each schema's
conversion is compiled once (``converter``), not walked per event.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from impact_contracts import (
    AllocateResult,
    ContractViolation,
    EvaluateResult,
    InitiativeFailure,
    MeasureResult,
    OutcomeReport,
    PilotEstimate,
    RunSummary,
)
from pydantic import BaseModel, ValidationError

from impact_schemas.catalog import load_schema

#: Avro record name → the pydantic contract that validates it on decode.
CONTRACTS: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (
        MeasureResult,
        EvaluateResult,
        AllocateResult,
        OutcomeReport,
        PilotEstimate,
        InitiativeFailure,
        RunSummary,
    )
}


def new_envelope(run_id: str, causation_id: str | None = None) -> dict[str, Any]:
    """Envelope fields for a new event: fresh ``event_id``, ``produced_at`` now (UTC, ms)."""
    now = datetime.now(UTC)
    return {
        "run_id": run_id,
        "event_id": str(uuid.uuid4()),
        "causation_id": causation_id,
        "produced_at": now.replace(microsecond=now.microsecond // 1000 * 1000),
    }


def schema_version(event: str, major: int = 1) -> str:
    """The current ``"major.minor"`` of ``event``'s schema in this package."""
    return str(load_schema(event, major)["version"])


def to_avro(
    event: str, value: dict[str, Any], schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Logical dict → Avro dict (JSON fields serialised, ``schema_version`` filled if absent)."""
    schema = schema or load_schema(event)
    record = converter(event, schema, decode=False)(value, "")
    if record is value:  # nothing to convert: still never fill the caller's dict
        record = dict(value)
    record.setdefault("schema_version", str(schema["version"]))
    return record


def from_avro(
    event: str,
    record: dict[str, Any],
    schema: dict[str, Any] | None = None,
    *,
    check_contracts: bool = True,
) -> dict[str, Any]:
    """Avro dict → logical dict, validating nested contracts unless ``check_contracts`` is
    False (for a consumer that validates the whole event at its own boundary).

    Raises:
        ContractViolation: a JSON field is not a JSON object, or a nested record breaks its
            contract; the message names the field path.
    """
    schema = schema or load_schema(event)
    return converter(event, schema, decode=True, check_contracts=check_contracts)(record, "")


Convert = Callable[[Any, str], Any]
"""``convert(value, path)``: one value along its schema; ``path`` names it in errors."""

_MAX_CONVERTERS = 512
_converters: dict[tuple[str, int, bool, bool], tuple[dict[str, Any], Convert]] = {}
_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)
#: orjson writes what ``_JSON`` accepts, or raises on what it cannot write as ``_JSON``
#: would (non-str keys, ints beyond 64 bits, dates, dataclasses, subclasses: ``_JSON``
#: then decides); it writes NaN as null, so output with a null is left to ``_JSON`` too.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_DECODER = json.JSONDecoder()


def converter(
    event: str, schema: dict[str, Any], *, decode: bool, check_contracts: bool = True
) -> Convert:
    """The compiled logical → Avro (or, with ``decode``, Avro → logical) conversion of
    ``event``'s record ``schema``, built once per schema object and direction.

    Only records (each checked to be a mapping), their JSON fields and, when decoding
    with ``check_contracts``, their contracts cost work; plain values, and arrays or maps
    of them, pass as they are (fastavro itself converts the logical types).
    """
    check = decode and check_contracts
    key = (event, id(schema), decode, check)
    cached = _converters.get(key)
    if cached is None or cached[0] is not schema:
        if len(_converters) >= _MAX_CONVERTERS:
            _converters.clear()
        cached = (schema, _Compiler(schema, event, decode=decode, check=check).record(schema))
        _converters[key] = cached
    return cached[1]


def _collect_named(schema: Any, namespace: str, named: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema, list):
        for branch in schema:
            _collect_named(branch, namespace, named)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "record":
            namespace = schema.get("namespace", namespace)
            named[schema["name"]] = schema
            named[f"{namespace}.{schema['name']}"] = schema
            for field in schema["fields"]:
                _collect_named(field["type"], namespace, named)
        elif kind == "array":
            _collect_named(schema["items"], namespace, named)
        elif kind == "map":
            _collect_named(schema["values"], namespace, named)
    return named


class _Compiler:
    """Builds the converter functions of one schema, for one direction."""

    def __init__(self, schema: dict[str, Any], event: str, *, decode: bool, check: bool) -> None:
        self.named = _collect_named(schema, "", {})
        self.event = event
        self.decode = decode
        self.check = check
        self.records: dict[int, Convert] = {}

    def of(self, schema: Any) -> Convert | None:
        """The converter of a field or item type; ``None`` when its values pass as they are."""
        if isinstance(schema, str):
            named = self.named.get(schema)
            return None if named is None else self.of(named)
        if isinstance(schema, list):
            branches = [b for b in schema if b != "null"]
            return self.of(branches[0]) if len(branches) == 1 else None
        kind = schema.get("type")
        if kind == "record":
            return _or_none(self.record(schema))
        if kind == "array":
            item = self.of(schema["items"])
            return None if item is None else _or_none(_array(item))
        if kind == "map":
            values = self.of(schema["values"])
            return None if values is None else _or_none(_map(values))
        return None

    def record(self, schema: dict[str, Any]) -> Convert:
        """A record's converter: checks it is a mapping, converts the fields that need it,
        then (decoding with contracts) validates it with its contract."""
        if id(schema) in self.records:  # a recursive type: the converter being built
            return self.records[id(schema)]
        fields: list[tuple[str, Convert]] = []
        contract = CONTRACTS.get(schema["name"]) if self.check else None
        event = self.event

        def convert(value: Any, path: str) -> Any:
            if not isinstance(value, dict):
                raise ContractViolation(f"{event}.{path}: expected a mapping, got {value!r}")
            out = dict(value) if fields else value
            for name, field_convert in fields:
                if name in value:
                    out[name] = field_convert(value[name], f"{path}.{name}" if path else name)
            if contract is not None:
                _validate(event, contract, out, path)
            return out

        self.records[id(schema)] = convert
        for field in schema["fields"]:
            field_convert = self._json() if field.get("json") else self.of(field["type"])
            if field_convert is not None:
                fields.append((field["name"], field_convert))
        return convert

    def _json(self) -> Convert:
        event = self.event
        if self.decode:

            def load(value: Any, path: str) -> Any:
                try:
                    loaded = _loads(value)
                except (TypeError, ValueError) as exc:
                    raise ContractViolation(f"{event}.{path}: invalid JSON: {exc}") from exc
                if not isinstance(loaded, dict):
                    raise ContractViolation(f"{event}.{path}: expected a JSON object")
                return loaded

            return load

        def dump(value: Any, path: str) -> Any:
            if not isinstance(value, dict):
                raise ContractViolation(f"{event}.{path}: expected a mapping, got {value!r}")
            if not value:
                return "{}"  # most kwargs: what json.dumps writes, without its setup
            try:
                return _dumps(value)
            except (TypeError, ValueError) as exc:
                raise ContractViolation(f"{event}.{path}: not JSON-serialisable: {exc}") from exc

        return dump


def _dumps(value: dict[str, Any]) -> str:
    """Compact JSON with sorted keys: what ``_JSON`` accepts and writes, by orjson.

    The text can differ from ``_JSON``'s in form only (non-ASCII characters as UTF-8, not
    ``\\u`` escapes; ``0.00001`` for ``1e-05``): the same value when read back (decision
    0073).
    """
    try:
        text = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:
        return _JSON.encode(value)
    if b"null" in text:  # None, or a NaN/infinity that _JSON refuses
        return _JSON.encode(value)
    return text.decode()


#: bytes.translate table: ASCII digits to ``0``, every other byte to a space
_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
#: 19 digits in a row: maybe an integer beyond 64 bits, which orjson reads as a float
_LONG_DIGITS = b"0" * 19


def _loads(text: Any) -> Any:
    """``json.loads(text)``, by orjson where it reads the same value (decision 0073).

    orjson reads an integer beyond 64 bits as a float, and refuses what ``json`` accepts
    (``NaN``, lone surrogates): text with a run of 19 digits, or that orjson refuses, is
    read by ``json``, so every text reads as ``json.loads`` reads it.
    """
    if text == "{}":
        return {}
    if isinstance(text, str):
        try:
            raw = text.encode()
            if _LONG_DIGITS not in raw.translate(_DIGITS_ONLY):
                return orjson.loads(raw)
        except (UnicodeEncodeError, orjson.JSONDecodeError):
            pass
    return json.loads(text)  # as json.loads reads it, errors included


def _or_none(convert: Convert) -> Convert:
    def or_none(value: Any, path: str) -> Any:
        return None if value is None else convert(value, path)

    return or_none


def _array(item: Convert) -> Convert:
    def array(value: Any, path: str) -> Any:
        return [item(v, f"{path}[{i}]") for i, v in enumerate(value)]

    return array


def _map(values: Convert) -> Convert:
    def mapping(value: Any, path: str) -> Any:
        return {k: values(v, f"{path}[{k}]") for k, v in value.items()}

    return mapping


def _validate(event: str, contract: type[BaseModel], value: dict[str, Any], path: str) -> None:
    try:
        contract.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_dotted(path, err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ContractViolation(f"{event}: {contract.__name__}: {problems}") from exc


def _dotted(path: str, loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in (path, *loc) if part != "")
