"""The registry client's HTTP side: one httpx client over one or several URLs (instances of
one registry), failing over on connection errors and 5xx with backoff (tenacity), and the
typed error of an answer."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
from impact_contracts import ConfigError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from impact_schemas.registry.errors import (
    CONTENT_TYPE,
    UNKNOWN_CODE,
    RegistryError,
    RegistryUnavailable,
)

URL_ENV = "SCHEMA_REGISTRY_URL"
#: ``user:password`` for HTTP basic auth (Confluent's ``basic.auth.user.info``).
AUTH_ENV = "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO"


class FailoverTransport:
    """Requests to the registry at ``url`` (several comma-separated: instances of one
    registry, tried in turn from the last one that answered); see ``RegistryClient``."""

    def __init__(
        self,
        url: str | None,
        *,
        timeout_s: float,
        failover_timeout_s: float,
        transport: httpx.AsyncBaseTransport | None,
        basic_auth: tuple[str, str] | None,
    ) -> None:
        self.urls = tuple(u.strip().rstrip("/") for u in (url or "").split(",") if u.strip())
        if not self.urls:
            raise ConfigError(f"schema registry URL missing: pass url= or set {URL_ENV}")
        self.failover_timeout_s = failover_timeout_s
        self._current = 0
        user_info = os.environ.get(AUTH_ENV)
        if basic_auth is None and user_info:
            user, sep, password = user_info.partition(":")
            if not sep:
                raise ConfigError(f"{AUTH_ENV}: expected user:password")
            basic_auth = (user, password)
        self.http = httpx.AsyncClient(
            base_url=self.urls[0],  # requests name their instance's full URL
            timeout=timeout_s,
            transport=transport,
            auth=None if basic_auth is None else httpx.BasicAuth(*basic_auth),
            headers={"Accept": CONTENT_TYPE, "Content-Type": CONTENT_TYPE},
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """One request; with several URLs, failed over on connection errors and 5xx until
        ``failover_timeout_s`` (after every instance failed once, backing off 0.1 s
        doubling up to 1 s); one URL: no retry."""
        content = None if body is None else json.dumps(body)
        retrying = AsyncRetrying(
            retry=retry_if_exception(_retriable),
            stop=stop_after_attempt(1)
            if len(self.urls) == 1
            else stop_after_delay(self.failover_timeout_s),
            wait=self._backoff,
            before_sleep=self._next_url,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._once(method, path, content)
        raise AssertionError("unreachable: tenacity returns or raises")

    async def _once(self, method: str, path: str, content: str | None) -> Any:
        url = self.urls[self._current]
        try:
            response = await self.http.request(method, url + path, content=content)
        except httpx.TransportError as exc:
            raise RegistryUnavailable(f"schema registry {url} unreachable: {exc}") from exc
        if not response.is_success:
            raise _error(response)
        return response.json()

    def _next_url(self, _: RetryCallState) -> None:
        self._current = (self._current + 1) % len(self.urls)

    def _backoff(self, state: RetryCallState) -> float:
        """None within a round of the instances; after a whole round failed, 0.1 s, then
        doubling up to 1 s."""
        rounds, rest = divmod(state.attempt_number, len(self.urls))
        return 0.0 if rest else min(0.1 * 2 ** (rounds - 1), 1.0)


def _retriable(exc: BaseException) -> bool:
    """Another instance may answer: unreachable, or a 5xx."""
    return isinstance(exc, RegistryUnavailable) or (
        isinstance(exc, RegistryError) and exc.retriable
    )


def _error(response: httpx.Response) -> RegistryError:
    """The typed error of a non-2xx answer (code -1 if the body is not Confluent's)."""
    try:
        payload = response.json()
        code, message = int(payload["error_code"]), str(payload["message"])
    except (ValueError, KeyError, TypeError):
        code, message = UNKNOWN_CODE, response.text or response.reason_phrase
    return RegistryError.for_code(code, message, response.status_code)


def flags(**values: bool) -> str:
    """``?name=true`` for the flags that are set (``""`` if none)."""
    names = [name for name, value in values.items() if value]
    return "?" + "&".join(f"{name}=true" for name in names) if names else ""
