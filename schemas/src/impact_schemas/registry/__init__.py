"""Schema registry: the async client, the shared error table, and (in ``server``) the server.

Importing this package never imports Kafka or FastAPI; ``python -m impact_schemas.registry``
starts the server.
"""

from impact_schemas.registry.client import RegisteredSchema, RegistryClient
from impact_schemas.registry.errors import (
    ERROR_CODES,
    IncompatibleSchema,
    InvalidCompatibilityLevel,
    InvalidSchema,
    InvalidVersion,
    RegistryError,
    RegistryUnavailable,
    SchemaNotFound,
    SubjectNotFound,
    VersionNotFound,
)

__all__ = [
    "ERROR_CODES",
    "IncompatibleSchema",
    "InvalidCompatibilityLevel",
    "InvalidSchema",
    "InvalidVersion",
    "RegisteredSchema",
    "RegistryClient",
    "RegistryError",
    "RegistryUnavailable",
    "SchemaNotFound",
    "SubjectNotFound",
    "VersionNotFound",
]
