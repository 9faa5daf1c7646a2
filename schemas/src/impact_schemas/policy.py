"""The schema version policy and compatibility checks (Apache avro's checker).

Policy: within a major, every minor must be FULL_TRANSITIVE compatible with all earlier
versions (additive fields with defaults); a major bump is a new subject and topic.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal, get_args

import avro.errors
import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from impact_schemas.catalog import parse_version

CompatibilityLevel = Literal[
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
]
LEVELS: tuple[str, ...] = get_args(CompatibilityLevel)
POLICY_LEVEL: CompatibilityLevel = "FULL_TRANSITIVE"

SchemaText = str | dict[str, Any]
#: a schema as text, dict, or already parsed (e.g. with references resolved)
AnySchema = SchemaText | avro.schema.Schema

__all__ = [
    "LEVELS",
    "POLICY_LEVEL",
    "CompatibilityLevel",
    "check_compatible",
    "check_version_bump",
    "parse_avro",
    "parse_version",
]


def parse_avro(schema: AnySchema) -> avro.schema.Schema:
    """Parse a schema (JSON text or dict) with Apache avro; errors raise ``ValueError``.

    An already parsed schema is returned as is.
    """
    if isinstance(schema, avro.schema.Schema):
        return schema
    text = schema if isinstance(schema, str) else json.dumps(schema)
    try:
        return avro.schema.parse(text)
    except (avro.errors.AvroException, ValueError, TypeError) as exc:
        raise ValueError(f"invalid Avro schema: {exc}") from exc


def _reasons(reader: avro.schema.Schema, writer: avro.schema.Schema, label: str) -> list[str]:
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    kinds = ", ".join(sorted(i.value for i in result.incompatibilities))
    where = ", ".join(sorted(result.locations))
    what = ", ".join(sorted(str(m) for m in result.messages))
    return [f"{label}: {kinds} at {where} ({what})"]


def check_compatible(
    new_schema: AnySchema, existing_schemas: Sequence[AnySchema], level: str
) -> list[str]:
    """Why ``new_schema`` breaks ``level`` against ``existing_schemas`` (oldest first).

    Returns an empty list when compatible. Non-transitive levels compare with the latest
    existing schema only. BACKWARD: the new schema reads data written with the old ones;
    FORWARD: the old ones read data written with the new one; FULL: both.

    Raises:
        ValueError: unknown level or an unparsable schema.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown compatibility level {level!r}; expected one of {LEVELS}")
    if level == "NONE" or not existing_schemas:
        return []
    new = parse_avro(new_schema)
    olds = [parse_avro(s) for s in existing_schemas]
    count = len(olds)
    targets = list(enumerate(olds)) if level.endswith("_TRANSITIVE") else [(count - 1, olds[-1])]
    base = level.removesuffix("_TRANSITIVE")
    reasons: list[str] = []
    for index, old in targets:
        label = f"existing schema #{index + 1} of {count}"
        if base in ("BACKWARD", "FULL"):
            reasons += _reasons(new, old, f"{label}: new schema cannot read old data")
        if base in ("FORWARD", "FULL"):
            reasons += _reasons(old, new, f"{label}: old schema cannot read new data")
    return reasons


def check_version_bump(
    new_schema: dict[str, Any], existing_schemas: Sequence[dict[str, Any]]
) -> list[str]:
    """Apply the project policy to a new ``.avsc`` version against earlier ones (same subject).

    A new major belongs on a new subject/topic; a new minor must have a higher minor than
    every existing version and be FULL_TRANSITIVE compatible with all of them.
    """
    major, minor = parse_version(str(new_schema["version"]))
    reasons: list[str] = []
    for old in existing_schemas:
        old_major, old_minor = parse_version(str(old["version"]))
        if old_major != major:
            reasons.append(
                f"version {major}.{minor} changes the major of {old_major}.{old_minor}: "
                f"a major bump needs a new subject and topic (.v{major})"
            )
        elif old_minor >= minor:
            reasons.append(f"version {major}.{minor} is not newer than {old_major}.{old_minor}")
    return reasons + check_compatible(new_schema, list(existing_schemas), POLICY_LEVEL)
