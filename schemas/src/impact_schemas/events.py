"""Logical event dicts ↔ Avro record dicts.

Handlers and components see *logical* dicts: free-form mappings (fields marked
``"json": true`` in the ``.avsc``) are dicts. On the wire they are JSON strings
(decision 0002). Decoding also validates every nested contract record
(``MeasureResult``, ``EvaluateResult``, ...) with its pydantic model.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from functools import cache
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
    record = _Walker(schema, event, decode=False).record(schema, value, "")
    record.setdefault("schema_version", str(schema["version"]))
    return record


def from_avro(
    event: str, record: dict[str, Any], schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Avro dict → logical dict, validating nested contracts.

    Raises:
        ContractViolation: a JSON field is not a JSON object, or a nested record breaks its
            contract; the message names the field path.
    """
    schema = schema or load_schema(event)
    return _Walker(schema, event, decode=True).record(schema, record, "")


@cache
def _named_types_of_default(event: str) -> dict[str, Any]:
    return _collect_named(load_schema(event), "", {})


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


class _Walker:
    """Walks a value along its schema, converting JSON fields and checking contracts."""

    def __init__(self, schema: dict[str, Any], event: str, *, decode: bool) -> None:
        if schema is load_schema(event):
            self.named = _named_types_of_default(event)
        else:
            self.named = _collect_named(schema, "", {})
        self.event = event
        self.decode = decode

    def value(self, schema: Any, value: Any, path: str) -> Any:
        if value is None:
            return None
        if isinstance(schema, str):
            named = self.named.get(schema)
            return value if named is None else self.value(named, value, path)
        if isinstance(schema, list):
            branches = [b for b in schema if b != "null"]
            return self.value(branches[0], value, path) if len(branches) == 1 else value
        kind = schema.get("type")
        if kind == "record":
            return self.record(schema, value, path)
        if kind == "array":
            return [self.value(schema["items"], v, f"{path}[{i}]") for i, v in enumerate(value)]
        if kind == "map":
            return {k: self.value(schema["values"], v, f"{path}[{k}]") for k, v in value.items()}
        return value

    def record(self, schema: dict[str, Any], value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ContractViolation(f"{self._where(path)}: expected a mapping, got {value!r}")
        out = dict(value)
        for field in schema["fields"]:
            name = field["name"]
            if name not in value:
                continue
            field_path = f"{path}.{name}" if path else name
            if field.get("json"):
                out[name] = self._json(value[name], field_path)
            else:
                out[name] = self.value(field["type"], value[name], field_path)
        contract = CONTRACTS.get(schema["name"])
        if self.decode and contract is not None:
            self._validate(contract, out, path)
        return out

    def _json(self, value: Any, path: str) -> Any:
        if self.decode:
            try:
                loaded = json.loads(value)
            except (TypeError, ValueError) as exc:
                raise ContractViolation(f"{self._where(path)}: invalid JSON: {exc}") from exc
            if not isinstance(loaded, dict):
                raise ContractViolation(f"{self._where(path)}: expected a JSON object")
            return loaded
        if not isinstance(value, dict):
            raise ContractViolation(f"{self._where(path)}: expected a mapping, got {value!r}")
        try:
            return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ContractViolation(f"{self._where(path)}: not JSON-serialisable: {exc}") from exc

    def _validate(self, contract: type[BaseModel], value: dict[str, Any], path: str) -> None:
        try:
            contract.model_validate(value)
        except ValidationError as exc:
            problems = "; ".join(
                f"{_dotted(path, err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
                for err in exc.errors()
            )
            raise ContractViolation(f"{self.event}: {contract.__name__}: {problems}") from exc

    def _where(self, path: str) -> str:
        return f"{self.event}.{path}"


def _dotted(path: str, loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in (path, *loc) if part != "")
