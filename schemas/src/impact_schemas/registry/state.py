"""In-memory registry state, rebuilt from (and only changed through) log records.

Record format in the ``_schemas`` topic (compacted, so keys identify the latest value):

* schema: key ``{"keytype": "SCHEMA", "subject": s, "version": v}``,
  value ``{"subject": s, "version": v, "id": n, "schema": text, "deleted": false}``
* config: key ``{"keytype": "CONFIG", "subject": s | null}``,
  value ``{"compatibilityLevel": level}``
* subject delete: key ``{"keytype": "DELETE_SUBJECT", "subject": s}``, value ``{}``
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from impact_schemas.policy import POLICY_LEVEL

Record = tuple[dict[str, Any], dict[str, Any] | None]


@dataclass
class RegistryState:
    """Schemas by global id, subject versions, and compatibility levels."""

    default_level: str = POLICY_LEVEL
    schemas: dict[int, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    subjects: dict[str, dict[int, int]] = field(default_factory=dict)
    levels: dict[str | None, str] = field(default_factory=dict)

    def apply(self, key: dict[str, Any], value: dict[str, Any] | None) -> None:
        """Apply one log record (``value`` None is a tombstone)."""
        kind = key.get("keytype")
        if kind == "SCHEMA" and value is not None:
            schema_id, text = int(value["id"]), str(value["schema"])
            self.schemas[schema_id] = text
            self.ids.setdefault(canonical(text), schema_id)
            versions = self.subjects.setdefault(str(value["subject"]), {})
            if value.get("deleted"):
                versions.pop(int(value["version"]), None)
            else:
                versions[int(value["version"])] = schema_id
        elif kind == "CONFIG":
            if value is None:
                self.levels.pop(key.get("subject"), None)
            else:
                self.levels[key.get("subject")] = str(value["compatibilityLevel"])
        elif kind == "DELETE_SUBJECT":
            self.subjects.pop(str(key["subject"]), None)

    def level(self, subject: str | None = None) -> str:
        """Effective compatibility level: the subject's, else the global one."""
        if subject is not None and subject in self.levels:
            return self.levels[subject]
        return self.levels.get(None, self.default_level)

    def live_subjects(self) -> list[str]:
        return sorted(s for s, versions in self.subjects.items() if versions)

    def versions(self, subject: str) -> dict[int, int]:
        """Version → id of a subject (empty if unknown or deleted)."""
        return self.subjects.get(subject, {})

    def version_of(self, subject: str, schema_id: int) -> int | None:
        for version, known_id in self.versions(subject).items():
            if known_id == schema_id:
                return version
        return None

    def register_record(self, subject: str, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The log record that registers ``text`` as the next version of ``subject``."""
        schema_id = self.ids.get(canonical(text), max(self.schemas, default=0) + 1)
        version = max(self.subjects.get(subject, {}), default=0) + 1
        key = {"keytype": "SCHEMA", "subject": subject, "version": version}
        value = {
            "subject": subject,
            "version": version,
            "id": schema_id,
            "schema": self.schemas.get(schema_id, canonical(text)),
            "deleted": False,
        }
        return key, value


def canonical(schema: str) -> str:
    """Key-order- and whitespace-independent JSON text of a schema."""
    return json.dumps(json.loads(schema), sort_keys=True, separators=(",", ":"))
