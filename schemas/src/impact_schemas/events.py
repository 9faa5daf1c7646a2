"""Logical event dicts ↔ Avro record dicts.

Handlers and components see *logical* dicts: free-form mappings (fields marked
``"json": true`` in the ``.avsc``) are dicts. On the wire they are JSON strings
(decision 0002). Decoding also validates every nested contract record
(``MeasureResult``, ``EvaluateResult``, ...) with its pydantic model, unless the consumer
checks the whole event at its own boundary (``check_contracts=False``). Each schema's
conversion is compiled once (``converter``), not walked per event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

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
from pydantic import BaseModel

from impact_schemas.catalog import load_schema
from impact_schemas.json_text import dumps, json_loads
from impact_schemas.steps import Invalid, Step, array_step, map_step, validate_contract

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
_converters: dict[tuple[str, int, bool, bool, bool], tuple[dict[str, Any], Convert]] = {}


def converter(
    event: str,
    schema: dict[str, Any],
    *,
    decode: bool,
    check_contracts: bool = True,
    in_place: bool = False,
) -> Convert:
    """The compiled logical → Avro (or, with ``decode``, Avro → logical) conversion of
    ``event``'s record ``schema``, built once per schema object and direction.

    Only records (each checked to be a mapping), their JSON fields and, when decoding
    with ``check_contracts``, their contracts cost work; plain values, and arrays or maps
    of them, pass as they are (fastavro itself converts the logical types). With
    ``in_place`` the records given are converted themselves, not copies (for a record
    fastavro has just decoded, that nobody else holds).
    """
    check = decode and check_contracts
    key = (event, id(schema), decode, check, in_place)
    cached = _converters.get(key)
    if cached is None or cached[0] is not schema:
        if len(_converters) >= _MAX_CONVERTERS:
            _converters.clear()
        compiler = _Compiler(schema, event, decode=decode, check=check, in_place=in_place)
        cached = (schema, _entry(compiler))
        _converters[key] = cached
    return cached[1]


def _entry(compiler: _Compiler) -> Convert:
    """The top-level converter: a top-level value must be a mapping (a nested record may
    be None); a bad value becomes a ContractViolation naming its path."""
    top = compiler.record(compiler.schema)
    event = compiler.event

    def convert(value: Any, path: str = "") -> Any:
        if not isinstance(value, dict):
            raise ContractViolation(f"{event}.{path}: expected a mapping, got {value!r}")
        try:
            return top(value)
        except Invalid as exc:
            raise ContractViolation(exc.message(exc.path(path))) from exc.__cause__

    return convert


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

    def __init__(
        self, schema: dict[str, Any], event: str, *, decode: bool, check: bool, in_place: bool
    ) -> None:
        self.schema = schema
        self.named = _collect_named(schema, "", {})
        self.event = event
        self.decode = decode
        self.check = check
        self.in_place = in_place
        self.records: dict[int, Step] = {}

    def of(self, schema: Any) -> Step | None:
        """The converter of a field or item type; ``None`` when its values pass as they are.
        A None value passes every converter (fastavro checks it against the type)."""
        if isinstance(schema, str):
            named = self.named.get(schema)
            return None if named is None else self.of(named)
        if isinstance(schema, list):
            branches = [b for b in schema if b != "null"]
            return self.of(branches[0]) if len(branches) == 1 else None
        kind = schema.get("type")
        if kind == "record":
            return self.record(schema)
        if kind == "array":
            item = self.of(schema["items"])
            return None if item is None else array_step(item)
        if kind == "map":
            values = self.of(schema["values"])
            return None if values is None else map_step(values)
        return None

    def record(self, schema: dict[str, Any]) -> Step:
        """A record's converter: checks it is a mapping, converts the fields that need it,
        then (decoding with contracts) validates it with its contract."""
        if id(schema) in self.records:  # a recursive type: the converter being built
            return self.records[id(schema)]
        fields: list[tuple[str, Step]] = []
        contract = CONTRACTS.get(schema["name"]) if self.check else None
        event = self.event
        in_place = self.in_place

        def convert(value: Any) -> Any:
            if not isinstance(value, dict):
                raise Invalid(lambda path: f"{event}.{path}: expected a mapping, got {value!r}")
            out = value if in_place or not fields else dict(value)
            for name, field_convert in fields:
                field = value.get(name)
                if field is not None:
                    try:
                        out[name] = field_convert(field)
                    except Invalid as exc:
                        raise exc.at(name) from exc.__cause__
            if contract is not None:
                validate_contract(event, contract, out)
            return out

        self.records[id(schema)] = convert
        for field in schema["fields"]:
            field_convert = self._json() if field.get("json") else self.of(field["type"])
            if field_convert is not None:
                fields.append((field["name"], field_convert))
        return convert

    def _json(self) -> Step:
        event = self.event
        if self.decode:

            def load(value: Any) -> Any:
                try:
                    loaded = json_loads(value)
                except (TypeError, ValueError) as exc:
                    error = exc
                    raise Invalid(lambda path: f"{event}.{path}: invalid JSON: {error}") from exc
                if not isinstance(loaded, dict):
                    raise Invalid(lambda path: f"{event}.{path}: expected a JSON object")
                return loaded

            return load

        def dump(value: Any) -> Any:
            if not isinstance(value, dict):
                raise Invalid(lambda path: f"{event}.{path}: expected a mapping, got {value!r}")
            if not value:
                return "{}"  # most kwargs: what json.dumps writes, without its setup
            try:
                return dumps(value)
            except (TypeError, ValueError) as exc:
                error = exc
                raise Invalid(
                    lambda path: f"{event}.{path}: not JSON-serialisable: {error}"
                ) from exc

        return dump
