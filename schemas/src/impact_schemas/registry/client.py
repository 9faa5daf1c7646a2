"""Async schema-registry client (Confluent REST API) on httpx.

Works against our server and against Confluent, Karapace or Apicurio (ccompat API):
point ``SCHEMA_REGISTRY_URL`` at any of them. Several URLs (comma-separated, as Confluent's
clients take them) are instances of one registry: a request that cannot reach one, or gets
a 5xx, goes to the next, with backoff, until ``failover_timeout_s`` has passed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

import httpx

from impact_schemas.registry.errors import CONTENT_TYPE
from impact_schemas.registry.references import (
    SchemaReference,
    references_from_json,
    references_json,
)
from impact_schemas.registry.settings import RegistrySettings
from impact_schemas.registry.transport import AUTH_ENV, URL_ENV, FailoverTransport, flags

__all__ = [
    "AUTH_ENV",
    "URL_ENV",
    "CONTENT_TYPE",
    "RegisteredSchema",
    "RegistryClient",
    "SchemaReference",
    "SchemaText",
    "canonical",
    "schema_text",
]

SchemaText = str | dict[str, Any]
References = tuple[SchemaReference, ...]


@dataclass(frozen=True)
class RegisteredSchema:
    """A schema as registered under a subject (``references``: the named types it uses
    from other subjects' versions)."""

    subject: str
    id: int
    version: int
    schema: str
    references: References = ()


def schema_text(schema: SchemaText) -> str:
    """The JSON text of a schema given as text or dict."""
    return schema if isinstance(schema, str) else json.dumps(schema, separators=(",", ":"))


def canonical(schema: SchemaText) -> str:
    """A whitespace- and key-order-independent form, used as cache key and identity."""
    loaded = json.loads(schema) if isinstance(schema, str) else schema
    return json.dumps(loaded, sort_keys=True, separators=(",", ":"))


class RegistryClient(RegistrySettings):
    """Async client for the Confluent schema-registry REST API, with id/schema caches.

    Arguments:
        url: base URL, or several comma-separated (instances of one registry); defaults to
            the ``SCHEMA_REGISTRY_URL`` environment variable.
        timeout_s: per-request timeout in seconds.
        failover_timeout_s: with several URLs, how long a request keeps trying the next
            one (connection errors, 5xx) before raising; one URL: no retry (the runtime
            waits an outage out itself).
        transport: an httpx transport (tests pass ``httpx.ASGITransport(app)``).
        basic_auth: ``(user, password)`` for HTTP basic auth; defaults to
            ``SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO`` (``user:password``), else none.

    Raises (from every method):
        RegistryError: the registry answered with an error (``error_code`` says which).
        RegistryUnavailable: the registry could not be reached (retriable).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        timeout_s: float = 10.0,
        failover_timeout_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        basic_auth: tuple[str, str] | None = None,
    ) -> None:
        self._transport = FailoverTransport(
            url or os.environ.get(URL_ENV),
            timeout_s=timeout_s,
            failover_timeout_s=failover_timeout_s,
            transport=transport,
            basic_auth=basic_auth,
        )
        self.urls = self._transport.urls
        self.url = self.urls[0]
        self._schemas_by_id: dict[int, tuple[str, References]] = {}
        self._ids: dict[tuple[str, str, References], int] = {}
        self._versions: dict[tuple[str, int], RegisteredSchema] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def clear_cache(self) -> None:
        """Forget cached ids and schemas (e.g. after the registry was reset)."""
        self._schemas_by_id.clear()
        self._ids.clear()
        self._versions.clear()

    async def _request(self, method: str, path: str, body: Any = None) -> Any:
        return await self._transport.request(method, path, body)

    async def register(self, subject: str, schema: SchemaText, references: References = ()) -> int:
        """Register ``schema`` under ``subject`` (idempotent) and return its global id.

        ``references``: the named types ``schema`` uses from other subjects' versions.
        """
        key = (subject, canonical(schema), tuple(references))
        if key not in self._ids:
            body = _schema_body(schema, references)
            answer = await self._request(
                "POST", f"/subjects/{quote(subject, safe='')}/versions", body
            )
            self._ids[key] = int(answer["id"])
            self._schemas_by_id.setdefault(
                int(answer["id"]), (schema_text(schema), tuple(references))
            )
        return self._ids[key]

    async def lookup(
        self,
        subject: str,
        schema: SchemaText,
        references: References = (),
        *,
        deleted: bool = False,
    ) -> RegisteredSchema:
        """The registration of ``schema`` (with ``references``) under ``subject``
        (40401/40403 if absent).

        ``deleted``: soft-deleted versions count too.
        """
        path = f"/subjects/{quote(subject, safe='')}{flags(deleted=deleted)}"
        found = self._registered(
            await self._request("POST", path, _schema_body(schema, references))
        )
        if not deleted:
            self._ids[(subject, canonical(schema), tuple(references))] = found.id
        return found

    async def get_by_id(self, schema_id: int) -> str:
        """The schema text with global id ``schema_id`` (cached; 40403 if unknown)."""
        return (await self.get_schema(schema_id))[0]

    async def get_schema(self, schema_id: int) -> tuple[str, References]:
        """The text and references of global id ``schema_id`` (cached; 40403 if unknown)."""
        if schema_id not in self._schemas_by_id:
            answer = await self._request("GET", f"/schemas/ids/{schema_id}")
            references = references_from_json(answer.get("references"))
            self._schemas_by_id[schema_id] = (str(answer["schema"]), references)
        return self._schemas_by_id[schema_id]

    async def referenced_schemas(self, references: References) -> list[str]:
        """Texts of the schemas ``references`` name, transitively, each once and after
        the schemas it references itself (the order to parse them in).

        Soft-deleted versions resolve too (as Confluent's deserializers read them).
        """
        order: list[str] = []
        seen: set[tuple[str, int]] = set()

        async def visit(refs: References) -> None:
            for ref in refs:
                key = (ref.subject, ref.version)
                if key in seen:
                    continue
                seen.add(key)
                if key not in self._versions:
                    self._versions[key] = await self.get_version(*key, deleted=True)
                await visit(self._versions[key].references)
                order.append(self._versions[key].schema)

        await visit(references)
        return order

    async def get_referenced_by(self, subject: str, version: int | str = "latest") -> list[int]:
        """Ids of the live versions whose references name this version of ``subject``."""
        path = f"/subjects/{quote(subject, safe='')}/versions/{version}/referencedby"
        return [int(i) for i in await self._request("GET", path)]

    async def get_subjects(self, *, deleted: bool = False) -> list[str]:
        """Subjects with a live version (``deleted``: soft-deleted ones too)."""
        return [str(s) for s in await self._request("GET", f"/subjects{flags(deleted=deleted)}")]

    async def get_versions(self, subject: str, *, deleted: bool = False) -> list[int]:
        """Version numbers of ``subject`` (``deleted``: soft-deleted ones too)."""
        path = f"/subjects/{quote(subject, safe='')}/versions{flags(deleted=deleted)}"
        return [int(v) for v in await self._request("GET", path)]

    async def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Soft-delete ``subject`` (``permanent``: after a soft delete, remove it for good)."""
        path = f"/subjects/{quote(subject, safe='')}{flags(permanent=permanent)}"
        return [int(v) for v in await self._request("DELETE", path)]

    async def delete_version(
        self, subject: str, version: int | str, *, permanent: bool = False
    ) -> int:
        """Soft-delete one version (``permanent``: after a soft delete, remove it for good)."""
        path = f"/subjects/{quote(subject, safe='')}/versions/{version}"
        return int(await self._request("DELETE", path + flags(permanent=permanent)))

    async def get_version(
        self, subject: str, version: int | str = "latest", *, deleted: bool = False
    ) -> RegisteredSchema:
        """One version of ``subject`` (``deleted``: a soft-deleted one too)."""
        path = f"/subjects/{quote(subject, safe='')}/versions/{version}{flags(deleted=deleted)}"
        return self._registered(await self._request("GET", path))

    async def check_compatibility(
        self,
        subject: str,
        schema: SchemaText,
        version: int | str | None = None,
        references: References = (),
    ) -> tuple[bool, list[str]]:
        """Whether ``schema`` may be registered under ``subject``, with the reasons if not.

        ``version`` None (default) checks against the versions the subject's level names,
        as registering would; a number or ``latest`` checks against that one version.
        """
        body = _schema_body(schema, references)
        versions = "versions" if version is None else f"versions/{version}"
        path = f"/compatibility/subjects/{quote(subject, safe='')}/{versions}?verbose=true"
        answer = await self._request("POST", path, body)
        return bool(answer["is_compatible"]), [str(m) for m in answer.get("messages", [])]

    async def get_schema_types(self) -> list[str]:
        return [str(t) for t in await self._request("GET", "/schemas/types")]

    async def get_id_versions(
        self, schema_id: int, *, deleted: bool = False
    ) -> list[tuple[str, int]]:
        """Every ``(subject, version)`` registering id ``schema_id``."""
        path = f"/schemas/ids/{schema_id}/versions{flags(deleted=deleted)}"
        return [(str(e["subject"]), int(e["version"])) for e in await self._request("GET", path)]

    async def get_id_subjects(self, schema_id: int, *, deleted: bool = False) -> list[str]:
        path = f"/schemas/ids/{schema_id}/subjects{flags(deleted=deleted)}"
        return [str(s) for s in await self._request("GET", path)]

    @staticmethod
    def _registered(answer: dict[str, Any]) -> RegisteredSchema:
        return RegisteredSchema(
            subject=str(answer["subject"]),
            id=int(answer["id"]),
            version=int(answer["version"]),
            schema=str(answer["schema"]),
            references=references_from_json(answer.get("references")),
        )


def _schema_body(schema: SchemaText, references: References) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": schema_text(schema), "schemaType": "AVRO"}
    if references:
        body["references"] = references_json(tuple(references))
    return body
