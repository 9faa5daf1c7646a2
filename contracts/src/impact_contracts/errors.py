"""The error hierarchy shared by every package.

The consumer runtime reads the class flags: ``retriable`` errors are retried with
backoff, everything else under ``PermanentError`` goes to the dead-letter queue.
"""

from collections.abc import Mapping
from typing import Any


class ImpactError(Exception):
    """Root of every error raised by the Impact Engine."""

    retriable: bool = False


class RetryableError(ImpactError):
    """A transient failure (broker, network, registry unavailable): try again."""

    retriable = True


class DependencyUnavailable(RetryableError):
    """A data source or store that is down (S3, a database): waited out like a broker outage.

    ``dependency`` names it for logs and metrics (``s3``, ``sql``).
    """

    def __init__(self, dependency: str, message: str) -> None:
        super().__init__(message)
        self.dependency = dependency


class PermanentError(ImpactError):
    """Processing this input can never succeed: send it to the DLQ with the reason."""


class SchemaMismatch(PermanentError):
    """Bytes that cannot be decoded with this consumer's reader schema (bad magic byte,
    unknown schema id, different major version)."""


class ContractViolation(PermanentError, ValueError):
    """Decoded data that breaks a contract invariant.

    ``envelope``: the event's top-level scalar fields (``run_id``, ``event_id``,
    ``initiative_id``, ``phase``, ...) when it decoded that far, so a command rejected by
    the codec can still end its initiative with ``stage_failed``.
    """

    def __init__(self, message: str, envelope: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.envelope: dict[str, Any] = dict(envelope or {})


class ComponentError(PermanentError):
    """A component could not process a valid event (e.g. data file missing, model failed)."""


class ConfigError(ImpactError, ValueError):
    """Misconfiguration (manifest, settings, component kwargs): fix the input and retry."""
