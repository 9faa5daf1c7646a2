"""Registry request logic over ``RegistryState``: every change goes to the log, then memory.

Deletes follow Confluent: a soft delete hides a version (its number stays taken, its id
keeps resolving), a permanent delete is allowed only after a soft delete and removes the
version record; the schema's ``ID`` record is never removed (decision 0050). A version
that a live version references cannot be deleted (42206); one that any id references is
never permanently deleted (decision 0051).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.errors import KafkaError
from impact_schemas.policy import POLICY_LEVEL, check_compatible
from impact_schemas.registry.errors import (
    IncompatibleSchema,
    InvalidSchema,
    OperationNotPermitted,
    ReferenceExists,
    RegistryError,
    SchemaNotFound,
    SubjectNotFound,
    SubjectNotSoftDeleted,
    SubjectSoftDeleted,
    VersionNotFound,
    VersionNotSoftDeleted,
    VersionSoftDeleted,
)
from impact_schemas.registry.references import references_json

from impact_registry.parsed import ParsedSchemas
from impact_registry.schema_log import SchemaLog
from impact_registry.settings import Setting
from impact_registry.state import (
    Record,
    References,
    RegistryState,
    parse_version_param,
    version_key,
    version_value,
)

BACKEND_ERROR_CODE = 50001


class Registry:
    """Request logic over the state; writes go to the log first, then to memory."""

    def __init__(self, log: SchemaLog, default_level: str = POLICY_LEVEL) -> None:
        self.log = log
        self.state = RegistryState(default_level=default_level)
        self.parsed = ParsedSchemas(self.state)
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Replay the log (the log applies it, and every later record, to the state); a
        writer back-fills the ``ID`` records a log written before 0050 lacks."""
        await self.log.start(self.state.apply)
        if self.log.is_writer:
            await self._write([])

    async def _write(self, records: list[Record]) -> None:
        """Append ``records`` (after any missing ``ID`` records); the log applies them.

        Raises:
            NotWriter: this instance is not the writer (the server forwards the request).
        """
        records = self.state.missing_id_records() + records
        if not records:
            return
        try:
            await self.log.append(records)
        except (KafkaError, TimeoutError) as exc:
            raise RegistryError(
                f"Error in the backend data store: {exc}",
                http_status=500,
                error_code=BACKEND_ERROR_CODE,
            ) from exc

    def _writable(self, subject: str) -> None:
        if self.state.mode(subject) != "READWRITE":
            raise OperationNotPermitted(f"Subject {subject} is in read-only mode")

    # reads

    def versions(self, subject: str, *, deleted: bool = False) -> dict[int, int]:
        """Version → id (40401 if the subject has none)."""
        versions = self.state.versions(subject, deleted=deleted)
        if not versions:
            raise SubjectNotFound(f"Subject '{subject}' not found.")
        return versions

    def version(self, subject: str, version: str, *, deleted: bool = False) -> tuple[int, int]:
        """``(version, id)`` for ``latest``/``-1`` or a positive version number."""
        number = parse_version_param(version)
        versions = self.versions(subject, deleted=deleted)
        if number == -1:
            number = max(versions)
        if number not in versions:
            raise VersionNotFound(f"Version {version} not found.")
        return number, versions[number]

    def history(self, subject: str) -> list[Any]:
        """Parsed schemas of a subject's live versions, oldest first (parsed once per id)."""
        return [self.parsed.of_id(i) for i in self.state.versions(subject).values()]

    def entry(self, subject: str, version: int, schema_id: int) -> dict[str, Any]:
        schema = self.state.schemas[schema_id]
        found = {"subject": subject, "version": version, "id": schema_id, "schema": schema}
        return found | self.references_body(schema_id)

    def references_body(self, schema_id: int) -> dict[str, Any]:
        """``{"references": [...]}`` if the schema has any, else ``{}`` (as Confluent)."""
        references = self.state.references[schema_id]
        return {"references": references_json(references)} if references else {}

    def id_of(self, schema: str, references: References) -> int | None:
        """The id of this exact schema (text and references), if registered (42201 if
        ``schema`` is not JSON)."""
        try:
            return self.state.id_of(schema, references)
        except ValueError as exc:
            raise InvalidSchema(f"Invalid schema: not JSON: {exc}") from exc

    def lookup(
        self, subject: str, schema: str, references: References = (), *, deleted: bool = False
    ) -> dict[str, Any]:
        self.versions(subject, deleted=deleted)
        schema_id = self.id_of(schema, references)
        if schema_id is None:
            self.parsed.parse(schema, references)  # an invalid schema is 42201, not 40403
            raise SchemaNotFound("Schema not found")
        found = self.state.version_of(subject, schema_id, deleted=deleted)
        if found is None:
            raise SchemaNotFound("Schema not found")
        return self.entry(subject, found, schema_id)

    def schema_by_id(self, schema_id: int) -> str:
        if schema_id not in self.state.schemas:
            raise SchemaNotFound(f"Schema {schema_id} not found")
        return self.state.schemas[schema_id]

    def referenced_by(self, subject: str, version: str) -> list[int]:
        """Ids of the live versions referencing this version of ``subject``."""
        number, _ = self.version(subject, version)
        return self.state.referenced_by(subject, number)

    def usages(self, schema_id: int, *, deleted: bool = False) -> list[tuple[str, int]]:
        self.schema_by_id(schema_id)
        return self.state.usages(schema_id, deleted=deleted)

    def compatibility(
        self, subject: str, schema: str, references: References, version: str | None
    ) -> list[str]:
        """Reasons ``schema`` is incompatible: per the level (``version`` None, as a
        registration would be checked), or with one version (``latest`` included)."""
        level = self.state.level(subject)
        new = self.parsed.parse(schema, references)
        if version is None or (version in ("latest", "-1") and not self.history(subject)):
            return check_compatible(new, self.history(subject), level)
        _, schema_id = self.version(subject, version)
        return check_compatible(new, [self.parsed.of_id(schema_id)], level)

    def subject_setting(
        self, setting: Setting, subject: str, *, default_to_global: bool = False
    ) -> str:
        """The subject's own level or mode (40408/40409 if it has none), else with
        ``default_to_global`` the one in force."""
        if subject in setting.table(self.state) or default_to_global:
            return setting.current(self.state, subject)
        raise setting.not_configured(
            f"Subject '{subject}' does not have subject-level {setting.body_field} configured"
        )

    # writes

    async def register(self, subject: str, schema: str, references: References = ()) -> int:
        """The id of ``schema`` (with ``references``) as a version of ``subject``.

        Already a live version of the subject: its id, nothing parsed or written. Else the
        schema is parsed once (with the referenced types), checked against the subject's
        live versions (parsed once per id, cached) and written in one produce round trip.
        """
        async with self._lock:
            known_id = self.id_of(schema, references)
            if known_id is not None and self.state.version_of(subject, known_id) is not None:
                return known_id
            self._writable(subject)
            new = (
                self.parsed.parse(schema, references)
                if known_id is None
                else self.parsed.of_id(known_id)
            )
            level = self.state.level(subject)
            reasons = check_compatible(new, self.history(subject), level)
            if reasons:
                raise IncompatibleSchema(
                    f"Schema being registered is incompatible with an earlier schema for "
                    f"subject '{subject}' ({level}): {'; '.join(reasons)}"
                )
            await self._write(self.state.register_records(subject, schema, references))
            schema_id = self.state.id_of(schema, references)
            assert schema_id is not None
            self.parsed.remember(schema_id, new)
            return schema_id

    async def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Soft-delete every live version, or (``permanent``) remove soft-deleted ones."""
        async with self._lock:
            self._writable(subject)
            live = self.state.versions(subject)
            every = self.state.versions(subject, deleted=True)
            if not every:
                raise SubjectNotFound(f"Subject '{subject}' not found.")
            if permanent and live:
                raise SubjectNotSoftDeleted(
                    f"Subject '{subject}' was not deleted first before being permanently deleted"
                )
            if not permanent and not live:
                raise SubjectSoftDeleted(
                    f"Subject '{subject}' was soft deleted. "
                    "Set permanent=true to delete permanently"
                )
            for number in every if permanent else live:
                self._not_referenced(subject, number, permanent=permanent)
            if permanent:
                records = [version_key(subject, v) for v in every]
                if subject in self.state.levels:
                    records.append(({"keytype": "CONFIG", "subject": subject}, None))
            else:
                records = [self._soft_deleted(subject, v, i) for v, i in live.items()]
            await self._write(records)
            return sorted(every if permanent else live)

    async def delete_version(self, subject: str, version: str, *, permanent: bool = False) -> int:
        """Soft-delete one version, or (``permanent``) remove a soft-deleted one."""
        async with self._lock:
            self._writable(subject)
            latest = parse_version_param(version) == -1
            number, schema_id = self.version(subject, version, deleted=permanent or not latest)
            deleted = self.state.is_deleted(subject, number)
            if not permanent and deleted:
                raise VersionSoftDeleted(
                    f"Subject '{subject}' Version {number} was soft deleted. "
                    "Set permanent=true to delete permanently"
                )
            if permanent and not deleted:
                raise VersionNotSoftDeleted(
                    f"Subject '{subject}' Version {number} was not deleted first before "
                    "being permanently deleted"
                )
            self._not_referenced(subject, number, permanent=permanent)
            if permanent:
                await self._write([version_key(subject, number)])
            else:
                await self._write([self._soft_deleted(subject, number, schema_id)])
            return number

    def _not_referenced(self, subject: str, number: int, *, permanent: bool) -> None:
        """42206 if a live version references this one (``permanent``: if any id does,
        soft-deleted or not: an id keeps resolving forever, so must what it references)."""
        referrers = self.state.referenced_by(subject, number, deleted=permanent)
        if referrers:
            why = " (decision 0051: a referenced version is never permanently deleted)"
            raise ReferenceExists(
                f"One or more references exist to the schema {{subject={subject}, "
                f"version={number}}}: schema ids {referrers}" + (why if permanent else "")
            )

    def _soft_deleted(self, subject: str, number: int, schema_id: int) -> Record:
        text = self.state.schemas[schema_id]
        key, _ = version_key(subject, number)
        references = self.state.references[schema_id]
        return key, version_value(subject, number, schema_id, text, references, deleted=True)

    async def set_setting(self, setting: Setting, value: Any, subject: str | None) -> str:
        """Set the level or mode of ``subject`` (``None``: the global one)."""
        if value not in setting.valid:
            raise setting.invalid(
                f"Invalid {setting.noun} {value!r}; valid: {', '.join(setting.valid)}"
            )
        async with self._lock:
            key = {"keytype": setting.keytype, "subject": subject}
            await self._write([(key, {setting.field: value})])
        return str(value)

    async def delete_setting(self, setting: Setting, subject: str) -> str:
        """Remove the subject's level or mode (back to the global one); the removed one."""
        async with self._lock:
            known = subject in setting.table(self.state) or self.state.versions(
                subject, deleted=True
            )
            if setting.subject_must_exist and not known:
                raise SubjectNotFound(f"Subject '{subject}' not found.")
            removed = self.subject_setting(setting, subject)
            await self._write([({"keytype": setting.keytype, "subject": subject}, None)])
            return removed
