"""Waiting out a dependency that is down (schema registry, broker, coordinators, and the
data sources a component reports through ``DependencyUnavailable``).

An outage is not the message's fault: the runtime blocks and backs off (capped
exponential, no limit) instead of dead-lettering a valid event. While it waits, readyz
answers 503, ``impact_dependency_waiting{dependency}`` is 1 and every backoff step logs one
``dependency_unavailable`` line and increments ``impact_dependency_backoff_total``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import errors as kafka_errors
from impact_contracts import DependencyUnavailable, ImpactError
from impact_schemas.registry.errors import RegistryError, RegistryUnavailable
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from impact_runtime.metrics import ServiceMetrics
from impact_runtime.retry import RetryPolicy, Sleep

T = TypeVar("T")
REGISTRY = "schema_registry"
KAFKA = "kafka"

#: Kafka errors that waiting cannot fix: the service stops with the error instead.
FATAL_KAFKA_ERRORS: tuple[type[kafka_errors.KafkaError], ...] = (
    kafka_errors.ProducerFenced,
    kafka_errors.InvalidProducerEpoch,  # a newer instance owns the transactional id
    kafka_errors.TransactionalIdAuthorizationFailed,
    kafka_errors.TopicAuthorizationFailedError,
    kafka_errors.GroupAuthorizationFailedError,
    kafka_errors.ClusterAuthorizationFailedError,
    kafka_errors.AuthenticationFailedError,
    kafka_errors.SaslAuthenticationFailed,
    kafka_errors.UnsupportedSaslMechanismError,
    kafka_errors.KafkaConfigurationError,
    kafka_errors.IncompatibleBrokerVersion,
    kafka_errors.UnsupportedVersionError,
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.InvalidTopicError,
    kafka_errors.PolicyViolationError,
)


class Stopping(BaseException):
    """Raised inside a wait when ``stop()`` was requested: the batch is abandoned
    uncommitted (it is processed again after a restart), like a cancellation."""


def kafka_outage(exc: BaseException) -> bool:
    """A broker-side failure that goes away when the broker is back (not a fatal one)."""
    return isinstance(exc, kafka_errors.KafkaError) and not isinstance(exc, FATAL_KAFKA_ERRORS)


def broker_trouble(exc: BaseException) -> bool:
    """A failure that waiting fixes: a broker error, or a topic whose leader is not elected
    in time (a fenced producer is judged by ``delivery.fencing`` before it gets here)."""
    return kafka_outage(exc) or isinstance(exc, TimeoutError)


def broker_down(exc: BaseException) -> str | None:
    """``KAFKA`` when connecting failed because the broker is not (yet) reachable."""
    return KAFKA if broker_trouble(exc) else None


def dependency_down(exc: BaseException) -> str | None:
    """The dependency a handler's error says is down, or None when it is not an outage."""
    if isinstance(exc, DependencyUnavailable):
        return exc.dependency
    if isinstance(exc, RegistryUnavailable) or (isinstance(exc, RegistryError) and exc.retriable):
        return REGISTRY
    return KAFKA if kafka_outage(exc) else None


def codec_down(exc: BaseException) -> str | None:
    """Any retriable codec error is the registry being unreachable (the codec's only I/O)."""
    if isinstance(exc, ImpactError) and exc.retriable:
        return REGISTRY
    return dependency_down(exc)


class Outages:
    """Dependencies the service is waiting for; ``waiting`` makes readyz false."""

    def __init__(self, policy: RetryPolicy, metrics: ServiceMetrics, sleep: Sleep, log: Any):
        self.policy = policy
        self.metrics = metrics
        self.sleep = sleep
        self.log = log
        self._since: dict[str, float] = {}

    @property
    def waiting(self) -> bool:
        return bool(self._since)

    def down(self, dependency: str) -> bool:
        """Whether ``dependency`` is being waited for now."""
        return dependency in self._since

    def note(self, dependency: str, error: str, attempt: int, delay: float) -> None:
        """``dependency`` is down (readyz 503): one log line and one counted step."""
        self._since.setdefault(dependency, time.monotonic())
        self.metrics.dependency_waiting(dependency).set(1)
        self.metrics.dependency_backoff(dependency).inc()
        self.log.warning(
            "dependency_unavailable",
            dependency=dependency,
            attempt=attempt,
            delay_s=delay,
            error=error,
        )

    def recovered(self, dependency: str) -> None:
        """``dependency`` answered again."""
        since = self._since.pop(dependency, None)
        if since is not None:
            self.metrics.dependency_waiting(dependency).set(0)
            self.log.info(
                "dependency_recovered",
                dependency=dependency,
                waited_s=round(time.monotonic() - since, 3),
            )

    async def wait_out(
        self, action: Callable[[], Awaitable[T]], is_down: Callable[[BaseException], str | None]
    ) -> T:
        """Run ``action`` until it stops failing with an outage; other errors propagate.

        The first call runs bare (it is on every message's path); only after it failed
        with an outage does tenacity take over, the failure counting as its attempt 1.
        """
        try:
            return await action()
        except Exception as exc:
            if is_down(exc) is None:
                raise
            first: BaseException = exc
        return await self._wait_out(action, is_down, first)

    async def _wait_out(
        self,
        action: Callable[[], Awaitable[T]],
        is_down: Callable[[BaseException], str | None],
        first: BaseException,
    ) -> T:
        waited_for: set[str] = set()
        pending = [first]

        async def attempt() -> T:
            if pending:
                raise pending.pop()
            return await action()

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            dependency = is_down(exc) if exc is not None else None
            assert exc is not None and dependency is not None
            waited_for.add(dependency)
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            self.note(dependency, f"{type(exc).__name__}: {exc}", state.attempt_number, delay)

        retrying = AsyncRetrying(
            sleep=self.sleep,
            wait=lambda state: self.policy.delay(state.attempt_number - 1),
            retry=retry_if_exception(lambda e: isinstance(e, Exception) and is_down(e) is not None),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            result: T = await retrying(attempt)
        except Exception:  # it answered, with an error that is not an outage
            self._all_recovered(waited_for)
            raise
        self._all_recovered(waited_for)
        return result

    def _all_recovered(self, dependencies: set[str]) -> None:
        for dependency in dependencies:
            self.recovered(dependency)
