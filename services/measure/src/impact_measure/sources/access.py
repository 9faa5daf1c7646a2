"""What sources on other machines share: secrets from the environment, refusing
credentials in a config, and waiting out an outage with backoff (tenacity).

A source that is down raises ``DependencyUnavailable`` once ``IMPACT_SOURCE_WAIT_S``
(default 120 s) of backoff has not brought it back; the service runtime then keeps
waiting without limit, as for a broker outage (docs/runtime.md, "Outages").
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from impact_contracts import ConfigError, DependencyUnavailable
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

WAIT_ENV = "IMPACT_SOURCE_WAIT_S"
DEFAULT_WAIT_S = 120.0
#: Config keys that name a credential; such values belong in the services' environment.
CREDENTIAL_KEY = re.compile(
    r"password|passwd|secret|token|credential|api_?key|access_?key|private_?key", re.I
)
#: ``scheme://user:password@host``: a URL that carries a password.
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@", re.I)


def secret(name: str) -> str | None:
    """``$name``, else the content of the file named by ``$name_FILE`` (stripped), else None.

    Raises:
        ConfigError: ``$name_FILE`` names a file that cannot be read.
    """
    value = os.environ.get(name)
    if value:
        return value
    file = os.environ.get(f"{name}_FILE")
    if not file:
        return None
    try:
        return Path(file).read_text().strip() or None
    except OSError as exc:
        raise ConfigError(
            f"{name}_FILE: cannot read the secret file {file}: {exc.strerror}"
        ) from None


def credentials_in(config: Any, path: str = "") -> Iterator[str]:
    """Key paths in ``config`` that hold a credential (a credential-like key with a value,
    or a URL with a password)."""
    if isinstance(config, dict):
        for key, value in config.items():
            at = f"{path}.{key}" if path else str(key)
            if CREDENTIAL_KEY.search(str(key)) and value not in (None, ""):
                yield at
            else:
                yield from credentials_in(value, at)
    elif isinstance(config, list):
        for index, value in enumerate(config):
            yield from credentials_in(value, f"{path}[{index}]")
    elif isinstance(config, str) and URL_WITH_PASSWORD.match(config):
        yield path


def refuse_credentials(config: Any, prefix: str) -> None:
    """Raise ``ConfigError`` at the first key of ``config`` that holds a credential."""
    for at in credentials_in(config, prefix):
        raise ConfigError(f"{at}: {CREDENTIALS_REASON}")


CREDENTIALS_REASON = (
    "credentials must not be in a manifest; give them to the services through the "
    "environment or a secret file (docs/data-sources.md)"
)


_WAIT_OVERRIDE: ContextVar[float | None] = ContextVar("source_wait_s", default=None)


@contextmanager
def waiting_at_most(seconds: float) -> Iterator[None]:
    """Inside the block sources back off for at most ``seconds`` (a check before publish)."""
    token = _WAIT_OVERRIDE.set(seconds)
    try:
        yield
    finally:
        _WAIT_OVERRIDE.reset(token)


def wait_s() -> float:
    """How long a source backs off before reporting ``DependencyUnavailable``."""
    override = _WAIT_OVERRIDE.get()
    if override is not None:
        return override
    try:
        return float(os.environ.get(WAIT_ENV, DEFAULT_WAIT_S))
    except ValueError:
        raise ConfigError(f"{WAIT_ENV}: must be a number of seconds") from None


def waiting_out(
    dependency: str, label: str, is_outage: Callable[[BaseException], bool], action: Callable[[], T]
) -> T:
    """``action()``, retried with capped exponential backoff while it fails with an outage.

    Raises:
        DependencyUnavailable: still down after ``wait_s()`` seconds (the runtime waits on).
        Exception: any other error of ``action``, at once.
    """

    def note(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "source_unavailable dependency=%s source=%s attempt=%d error=%s",
            dependency,
            label,
            state.attempt_number,
            short_error(error),
        )

    retrying = Retrying(
        retry=retry_if_exception(is_outage),
        wait=wait_exponential(multiplier=0.2, max=5.0),
        stop=stop_after_delay(wait_s()),
        before_sleep=note,
        reraise=True,
    )
    try:
        return retrying(action)
    except Exception as exc:
        if not is_outage(exc):
            raise
        raise DependencyUnavailable(
            dependency, f"{label}: {dependency} unreachable: {short_error(exc)}"
        ) from None


def short_error(exc: BaseException | None) -> str:
    """The first line of ``exc``'s message (its class name when it has none)."""
    if exc is None:
        return ""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
