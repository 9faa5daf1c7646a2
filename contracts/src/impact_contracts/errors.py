"""The error hierarchy shared by every package.

The consumer runtime reads the class flags: ``retriable`` errors are retried with
backoff, everything else under ``PermanentError`` goes to the dead-letter queue.
"""


class ImpactError(Exception):
    """Root of every error raised by the Impact Engine."""

    retriable: bool = False


class RetryableError(ImpactError):
    """A transient failure (broker, network, registry unavailable): try again."""

    retriable = True


class PermanentError(ImpactError):
    """Processing this input can never succeed: send it to the DLQ with the reason."""


class SchemaMismatch(PermanentError):
    """Bytes that cannot be decoded with this consumer's reader schema (bad magic byte,
    unknown schema id, different major version)."""


class ContractViolation(PermanentError, ValueError):
    """Decoded data that breaks a contract invariant."""


class ComponentError(PermanentError):
    """A component could not process a valid event (e.g. data file missing, model failed)."""


class ConfigError(ImpactError, ValueError):
    """Misconfiguration (manifest, settings, component kwargs): fix the input and retry."""
