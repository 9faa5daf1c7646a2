"""Schema references (Confluent): a named type another subject's version defines.

A reference ``{"name", "subject", "version"}`` says: the Avro named type ``name`` used in
this schema is defined by version ``version`` of ``subject``. Shared by client and server;
no Avro import here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SchemaReference", "references_from_json", "references_json"]


@dataclass(frozen=True, order=True)
class SchemaReference:
    """Avro named type ``name``, defined by ``version`` of ``subject``."""

    name: str
    subject: str
    version: int

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "subject": self.subject, "version": self.version}

    @classmethod
    def from_json(cls, value: Any) -> SchemaReference:
        """One reference from its JSON object.

        Raises:
            ValueError: not an object with a non-empty ``name`` and ``subject`` and a
                version number ``>= 1``.
        """
        if not isinstance(value, dict):
            raise ValueError(f"a reference must be an object, got {value!r}")
        name, subject, version = value.get("name"), value.get("subject"), value.get("version")
        if not isinstance(name, str) or not name:
            raise ValueError(f"reference {value!r}: 'name' must be a non-empty string")
        if not isinstance(subject, str) or not subject:
            raise ValueError(f"reference {value!r}: 'subject' must be a non-empty string")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"reference {value!r}: 'version' must be a version number >= 1")
        return cls(name, subject, version)


def references_from_json(value: Any) -> tuple[SchemaReference, ...]:
    """The references of a request body or log record (missing or ``null``: none).

    Raises:
        ValueError: not a list of valid references, or one name referenced twice.
    """
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"'references' must be a list, got {value!r}")
    references = tuple(SchemaReference.from_json(item) for item in value)
    names = [r.name for r in references]
    if len(set(names)) != len(names):
        raise ValueError(f"'references' names a type twice: {names}")
    return references


def references_json(references: tuple[SchemaReference, ...]) -> list[dict[str, Any]]:
    return [r.as_json() for r in references]
