"""Apache-avro parsed schemas with their references resolved, cached by schema id.

An id's text and references never change, so its parsed form is computed once. A schema
with references is parsed after the schemas it references (depth first, each once), in one
``avro.name.Names``, so the named types they define are known to it.
"""

from __future__ import annotations

import json

import avro.errors
import avro.name
import avro.schema
from impact_schemas.registry.errors import InvalidSchema

from impact_registry.state import References, RegistryState


class ParsedSchemas:
    """Parses schemas for registration, compatibility checks and lookups."""

    def __init__(self, state: RegistryState) -> None:
        self.state = state
        self._by_id: dict[int, avro.schema.Schema] = {}

    def of_id(self, schema_id: int) -> avro.schema.Schema:
        """The parsed schema of a registered id (its references resolved)."""
        if schema_id not in self._by_id:
            text = self.state.schemas[schema_id]
            self._by_id[schema_id] = self.parse(text, self.state.references[schema_id])
        return self._by_id[schema_id]

    def remember(self, schema_id: int, parsed: avro.schema.Schema) -> None:
        """Keep the parsed form of a just registered id."""
        self._by_id.setdefault(schema_id, parsed)

    def parse(self, text: str, references: References = ()) -> avro.schema.Schema:
        """Parse ``text`` with the named types its ``references`` define.

        Raises:
            InvalidSchema: a reference names no registered version (soft-deleted ones
                count), or the schema is not valid Avro with those types (42201).
        """
        names = avro.name.Names(validate_names=True)
        for dependency in self.dependencies(references):
            _parse(self.state.schemas[dependency], names, f"referenced schema id {dependency}")
        return _parse(text, names, "schema")

    def dependencies(self, references: References) -> list[int]:
        """Ids of the referenced schemas, transitively, each after its own references."""
        order: list[int] = []
        self._visit(references, order, set())
        return order

    def _visit(self, references: References, order: list[int], seen: set[int]) -> None:
        for reference in references:
            schema_id = self.state.version_id(reference.subject, reference.version)
            if schema_id is None:
                raise InvalidSchema(
                    f"Invalid schema: reference {reference.name!r} names subject "
                    f"'{reference.subject}' version {reference.version}, which does not exist"
                )
            if schema_id not in seen:
                seen.add(schema_id)
                self._visit(self.state.references[schema_id], order, seen)
                order.append(schema_id)


def _parse(text: str, names: avro.name.Names, what: str) -> avro.schema.Schema:
    try:
        return avro.schema.make_avsc_object(json.loads(text), names)
    except (avro.errors.AvroException, ValueError, TypeError) as exc:
        raise InvalidSchema(f"Invalid schema: {what}: {exc}") from exc
