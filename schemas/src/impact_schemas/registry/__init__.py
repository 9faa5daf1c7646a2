"""Schema registry: the async client, the shared error table, and (in ``server``) the server.

Importing this package never imports Kafka or Starlette, and imports the client (httpx) only
when ``RegistryClient`` is first used, so the server starts without it;
``python -m impact_registry`` starts the server.
"""

from typing import TYPE_CHECKING, Any

from impact_schemas.registry.errors import (
    ERROR_CODES,
    IncompatibleSchema,
    InvalidCompatibilityLevel,
    InvalidSchema,
    InvalidVersion,
    ReferenceExists,
    RegistryError,
    RegistryUnavailable,
    SchemaNotFound,
    SubjectNotFound,
    VersionNotFound,
)
from impact_schemas.registry.references import SchemaReference

if TYPE_CHECKING:
    from impact_schemas.registry.client import RegisteredSchema, RegistryClient


def __getattr__(name: str) -> Any:
    if name in ("RegisteredSchema", "RegistryClient"):
        from impact_schemas.registry import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ERROR_CODES",
    "IncompatibleSchema",
    "InvalidCompatibilityLevel",
    "InvalidSchema",
    "InvalidVersion",
    "ReferenceExists",
    "RegisteredSchema",
    "RegistryClient",
    "RegistryError",
    "RegistryUnavailable",
    "SchemaNotFound",
    "SchemaReference",
    "SubjectNotFound",
    "VersionNotFound",
]
