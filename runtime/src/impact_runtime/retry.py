"""Exponential backoff for RetryableError."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from impact_contracts import ImpactError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
OnRetry = Callable[[int, float, BaseException], None]


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` retries after the first try, delays ``base * 2**n`` capped."""

    max_retries: int
    base_delay_s: float
    max_delay_s: float

    def delay(self, retry_number: int) -> float:
        """Delay before retry ``retry_number`` (0-based)."""
        return float(min(self.base_delay_s * 2**retry_number, self.max_delay_s))


class RetriesExhausted(ImpactError):
    """A retryable failure persisted beyond ``max_retries``."""

    def __init__(self, attempts: int, last: BaseException) -> None:
        super().__init__(f"gave up after {attempts} attempts: {type(last).__name__}: {last}")
        self.attempts = attempts
        self.last = last


def is_retriable(exc: BaseException) -> bool:
    """An Impact error flagged ``retriable`` (e.g. a component's RetryableError)."""
    return isinstance(exc, ImpactError) and exc.retriable


async def call_with_retry(
    action: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    sleep: Sleep,
    on_retry: OnRetry | None = None,
    retry_if: Callable[[BaseException], bool] = is_retriable,
) -> T:
    """Run ``action``; retry while it raises an error ``retry_if`` accepts.

    Raises RetriesExhausted once the retries are used up; other errors propagate at once.
    """
    for retry_number in range(policy.max_retries + 1):
        try:
            return await action()
        except Exception as exc:
            if not retry_if(exc):
                raise
            if retry_number == policy.max_retries:
                raise RetriesExhausted(retry_number + 1, exc) from exc
            delay = policy.delay(retry_number)
            if on_retry is not None:
                on_retry(retry_number + 1, delay, exc)
            await sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


#: The policy of ``ServiceSettings``' defaults, for callers without settings (embedded mode).
DEFAULT_RETRY_POLICY = RetryPolicy(max_retries=5, base_delay_s=0.2, max_delay_s=5.0)


def call_with_retry_sync(
    action: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None]
) -> T:
    """``call_with_retry`` for a blocking ``action`` in a worker thread (embedded mode)."""
    for retry_number in range(policy.max_retries + 1):
        try:
            return action()
        except Exception as exc:
            if not is_retriable(exc):
                raise
            if retry_number == policy.max_retries:
                raise RetriesExhausted(retry_number + 1, exc) from exc
            sleep(policy.delay(retry_number))
    raise AssertionError("unreachable")  # pragma: no cover
