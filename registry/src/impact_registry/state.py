"""In-memory registry state, rebuilt from (and only changed through) log records.

Record format in the ``_schemas`` topic (compacted: the last record per key survives):

* id: key ``{"keytype": "ID", "id": n}``, value ``{"id": n, "schema": text}`` plus
  ``"references": [{"name", "subject", "version"}, ...]`` when it has any (0051). Written
  once, when id ``n`` is allocated, and never overwritten nor tombstoned: an id keeps its
  schema forever and is never allocated again, whatever else compaction removes (0050).
* schema version: key ``{"keytype": "SCHEMA", "subject": s, "version": v}``, value
  ``{"subject": s, "version": v, "id": n, "schema": text, "deleted": bool}`` (plus
  ``references`` like the id record); a soft delete rewrites it with ``deleted: true`` (the
  number stays taken), a permanent delete is a tombstone.
* config: key ``{"keytype": "CONFIG", "subject": s | null}``, value
  ``{"compatibilityLevel": level}``; a tombstone removes a subject level.
* mode: key ``{"keytype": "MODE", "subject": s | null}``, value ``{"mode": mode}``; a
  tombstone removes a subject mode.
* ``DELETE_SUBJECT`` (written before 0050): soft-deletes the versions known at that point.

Records without ``references`` (all those written before 0051) have none. A schema's
identity is its canonical text *and* its references: the same text with other references
is another schema with its own id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from impact_schemas.policy import POLICY_LEVEL
from impact_schemas.registry.errors import InvalidVersion
from impact_schemas.registry.references import (
    SchemaReference,
    references_from_json,
    references_json,
)

Record = tuple[dict[str, Any], dict[str, Any] | None]
References = tuple[SchemaReference, ...]
#: what makes two registrations the same schema: canonical text and references
Identity = tuple[str, References]


@dataclass(frozen=True)
class Version:
    """One version of a subject: its global schema id and whether it is soft-deleted."""

    id: int
    deleted: bool = False


@dataclass
class RegistryState:
    """Schemas by global id, subject versions (soft-deleted too), levels and the mode."""

    default_level: str = POLICY_LEVEL
    schemas: dict[int, str] = field(default_factory=dict)
    references: dict[int, References] = field(default_factory=dict)
    ids: dict[Identity, int] = field(default_factory=dict)
    id_records: set[int] = field(default_factory=set)
    subjects: dict[str, dict[int, Version]] = field(default_factory=dict)
    levels: dict[str | None, str] = field(default_factory=dict)
    modes: dict[str | None, str] = field(default_factory=dict)
    #: highest id handed to the log, even if its write failed: never handed out again
    allocated: int = 0

    def apply(self, key: dict[str, Any], value: dict[str, Any] | None) -> None:
        """Apply one log record (``value`` None is a tombstone)."""
        kind = key.get("keytype")
        if kind == "ID" and value is not None:
            self._learn(value)
            self.id_records.add(int(value["id"]))
        elif kind == "SCHEMA":
            subject, number = str(key["subject"]), int(key["version"])
            versions = self.subjects.setdefault(subject, {})
            if value is None:
                versions.pop(number, None)
            else:
                self._learn(value)
                versions[number] = Version(int(value["id"]), bool(value.get("deleted")))
        elif kind == "CONFIG":
            if value is None:
                self.levels.pop(key.get("subject"), None)
            else:
                self.levels[key.get("subject")] = str(value["compatibilityLevel"])
        elif kind == "MODE":
            if value is None:
                self.modes.pop(key.get("subject"), None)
            else:
                self.modes[key.get("subject")] = str(value["mode"])
        elif kind == "DELETE_SUBJECT":
            versions = self.subjects.get(str(key["subject"]), {})
            for number, version in versions.items():
                versions[number] = Version(version.id, deleted=True)

    def _learn(self, value: dict[str, Any]) -> None:
        schema_id, text = int(value["id"]), str(value["schema"])
        if schema_id not in self.schemas:
            references = references_from_json(value.get("references"))
            self.schemas[schema_id] = text
            self.references[schema_id] = references
            self.ids.setdefault((canonical(text), references), schema_id)

    def id_of(self, text: str, references: References = ()) -> int | None:
        """The id of this schema (canonical text and references), if registered."""
        return self.ids.get((canonical(text), references))

    def level(self, subject: str | None = None) -> str:
        """Effective compatibility level: the subject's, else the global one."""
        if subject is not None and subject in self.levels:
            return self.levels[subject]
        return self.levels.get(None, self.default_level)

    def mode(self, subject: str | None = None) -> str:
        """Effective mode: the subject's, else the global one (``READWRITE`` by default)."""
        if subject is not None and subject in self.modes:
            return self.modes[subject]
        return self.modes.get(None, "READWRITE")

    def subject_names(self, *, deleted: bool = False) -> list[str]:
        """Subjects with a live version (``deleted``: with any version left)."""
        return sorted(s for s in self.subjects if self.versions(s, deleted=deleted))

    def versions(self, subject: str, *, deleted: bool = False) -> dict[int, int]:
        """Version → id of a subject's live versions (``deleted``: soft-deleted too)."""
        return {
            number: version.id
            for number, version in sorted(self.subjects.get(subject, {}).items())
            if deleted or not version.deleted
        }

    def is_deleted(self, subject: str, number: int) -> bool:
        return self.subjects[subject][number].deleted

    def version_of(self, subject: str, schema_id: int, *, deleted: bool = False) -> int | None:
        """The newest version of ``subject`` holding ``schema_id``, if any."""
        found = [v for v, i in self.versions(subject, deleted=deleted).items() if i == schema_id]
        return max(found, default=None)

    def usages(self, schema_id: int, *, deleted: bool = False) -> list[tuple[str, int]]:
        """Every ``(subject, version)`` holding ``schema_id``, sorted."""
        return [
            (subject, number)
            for subject in sorted(self.subjects)
            for number, known in self.versions(subject, deleted=deleted).items()
            if known == schema_id
        ]

    def referenced_by(self, subject: str, number: int, *, deleted: bool = False) -> list[int]:
        """Ids of the versions whose references name ``subject`` version ``number``
        (``deleted``: every id ever registered with such a reference), sorted."""
        if deleted:
            ids: set[int] = set(self.schemas)
        else:
            ids = {i for s in self.subjects for i in self.versions(s).values()}
        return sorted(
            i
            for i in ids
            if any((r.subject, r.version) == (subject, number) for r in self.references[i])
        )

    def version_id(self, subject: str, number: int) -> int | None:
        """The id of ``subject`` version ``number`` (soft-deleted too), if it exists."""
        version = self.subjects.get(subject, {}).get(number)
        return None if version is None else version.id

    def register_records(
        self, subject: str, text: str, references: References = ()
    ) -> list[Record]:
        """The records registering ``text`` as the next version of ``subject``.

        A new schema gets the next id never used (nor tried: ``allocated``), with its
        ``ID`` record first; the version number follows every version of the subject,
        soft-deleted ones included.
        """
        records: list[Record] = []
        schema_id = self.id_of(text, references)
        if schema_id is None:
            schema_id = self.allocated = max(self.allocated, *self.schemas, 0) + 1
            records.append(id_record(schema_id, canonical(text), references))
        version = max(self.subjects.get(subject, {}), default=0) + 1
        key = {"keytype": "SCHEMA", "subject": subject, "version": version}
        stored = self.schemas.get(schema_id, canonical(text))
        records.append((key, version_value(subject, version, schema_id, stored, references)))
        return records

    def missing_id_records(self) -> list[Record]:
        """``ID`` records for ids known only from version records (logs before 0050)."""
        return [
            id_record(i, self.schemas[i], self.references[i])
            for i in sorted(self.schemas)
            if i not in self.id_records
        ]


def id_record(schema_id: int, text: str, references: References = ()) -> Record:
    value: dict[str, Any] = {"id": schema_id, "schema": text}
    if references:
        value["references"] = references_json(references)
    return {"keytype": "ID", "id": schema_id}, value


def version_value(
    subject: str,
    version: int,
    schema_id: int,
    text: str,
    references: References = (),
    *,
    deleted: bool = False,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "subject": subject,
        "version": version,
        "id": schema_id,
        "schema": text,
        "deleted": deleted,
    }
    if references:
        value["references"] = references_json(references)
    return value


def canonical(schema: str) -> str:
    """Key-order- and whitespace-independent JSON text of a schema."""
    return json.dumps(json.loads(schema), sort_keys=True, separators=(",", ":"))


def version_key(subject: str, number: int) -> Record:
    """The removal of one version's record (a permanent delete)."""
    return {"keytype": "SCHEMA", "subject": subject, "version": number}, None


def parse_version_param(version: str) -> int:
    """``latest`` → -1; a positive integer → itself; anything else → 42202."""
    if version in ("latest", "-1"):
        return -1
    if version.isdigit() and int(version) > 0 and int(version) < 2**31:
        return int(version)
    raise InvalidVersion(
        f"The specified version '{version}' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"'
    )
