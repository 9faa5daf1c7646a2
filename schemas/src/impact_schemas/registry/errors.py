"""Registry errors: one ``RegistryError`` and one table of Confluent error codes.

The server raises these, the client rebuilds them from ``{"error_code", "message"}``
bodies with ``RegistryError.for_code``, so both always agree on the codes.
"""

from __future__ import annotations

from typing import ClassVar

from impact_contracts import ImpactError, RetryableError

UNKNOWN_CODE = -1
#: The media type of the Confluent REST API (requests and answers).
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryError(ImpactError):
    """An error answer from a schema registry (``http_status``, Confluent ``error_code``).

    5xx answers are ``retriable``; 4xx answers are not.
    """

    code: ClassVar[int] = UNKNOWN_CODE
    default_status: ClassVar[int] = 500

    def __init__(
        self, message: str, *, http_status: int | None = None, error_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status if http_status is not None else self.default_status
        self.error_code = error_code if error_code is not None else self.code
        self.retriable = self.http_status >= 500

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.http_status}, error_code {self.error_code})"

    @staticmethod
    def for_code(error_code: int, message: str, http_status: int) -> RegistryError:
        """The typed error for a registry answer; unknown codes keep their code and status."""
        cls = ERROR_CODES.get(error_code, RegistryError)
        return cls(message, http_status=http_status, error_code=error_code)


class SubjectNotFound(RegistryError):
    code = 40401
    default_status = 404


class VersionNotFound(RegistryError):
    code = 40402
    default_status = 404


class SchemaNotFound(RegistryError):
    code = 40403
    default_status = 404


class SubjectSoftDeleted(RegistryError):
    code = 40404
    default_status = 404


class SubjectNotSoftDeleted(RegistryError):
    code = 40405
    default_status = 404


class VersionSoftDeleted(RegistryError):
    code = 40406
    default_status = 404


class VersionNotSoftDeleted(RegistryError):
    code = 40407
    default_status = 404


class SubjectLevelNotConfigured(RegistryError):
    code = 40408
    default_status = 404


class SubjectModeNotConfigured(RegistryError):
    code = 40409
    default_status = 404


class IncompatibleSchema(RegistryError):
    code = 409
    default_status = 409


class InvalidSchema(RegistryError):
    code = 42201
    default_status = 422


class InvalidVersion(RegistryError):
    code = 42202
    default_status = 422


class InvalidCompatibilityLevel(RegistryError):
    code = 42203
    default_status = 422


class InvalidMode(RegistryError):
    code = 42204
    default_status = 422


class OperationNotPermitted(RegistryError):
    code = 42205
    default_status = 422


class ReferenceExists(RegistryError):
    """The version is referenced by another schema: delete the referrer first."""

    code = 42206
    default_status = 422


# Server-side 5xx (retriable) answers of several instances; like 50001 they are not in the
# table: a client sees a plain, retriable ``RegistryError`` with the code.


class ForwardingFailed(RegistryError):
    """A follower could not get the writer to take a write: retry."""

    code = 50003
    default_status = 500


class UnknownLeader(RegistryError):
    """No writer was elected in time (an election in progress): retry."""

    code = 50004
    default_status = 500


#: Confluent error code → error class (the one table both client and server use).
ERROR_CODES: dict[int, type[RegistryError]] = {
    cls.code: cls
    for cls in (
        SubjectNotFound,
        VersionNotFound,
        SchemaNotFound,
        SubjectSoftDeleted,
        SubjectNotSoftDeleted,
        VersionSoftDeleted,
        VersionNotSoftDeleted,
        SubjectLevelNotConfigured,
        SubjectModeNotConfigured,
        IncompatibleSchema,
        InvalidSchema,
        InvalidVersion,
        InvalidCompatibilityLevel,
        InvalidMode,
        OperationNotPermitted,
        ReferenceExists,
    )
}


class RegistryUnavailable(RetryableError):
    """The registry could not be reached (connection refused, timeout): retry later."""
