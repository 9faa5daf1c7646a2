"""Exponential backoff for RetryableError: one policy (tenacity) for async and blocking calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from impact_contracts import ImpactError
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt

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

    def tenacity(
        self,
        retry_if: Callable[[BaseException], bool],
        on_retry: OnRetry | None = None,
    ) -> dict[str, Any]:
        """The keyword arguments of ``tenacity.Retrying``/``AsyncRetrying`` (without
        ``sleep``) for this policy: stop, wait, which errors retry, the retry callback,
        and ``RetriesExhausted`` once the retries are used up."""

        def before_sleep(state: RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None and state.next_action:
                on_retry(state.attempt_number, state.next_action.sleep, _error(state))

        return {
            "stop": stop_after_attempt(self.max_retries + 1),
            "wait": lambda state: self.delay(state.attempt_number - 1),
            "retry": retry_if_exception(retry_if),
            "before_sleep": before_sleep,
            "retry_error_callback": _exhausted,
        }


class RetriesExhausted(ImpactError):
    """A retryable failure persisted beyond ``max_retries``."""

    def __init__(self, attempts: int, last: BaseException) -> None:
        super().__init__(f"gave up after {attempts} attempts: {type(last).__name__}: {last}")
        self.attempts = attempts
        self.last = last


def is_retriable(exc: BaseException) -> bool:
    """An Impact error flagged ``retriable`` (e.g. a component's RetryableError)."""
    return isinstance(exc, ImpactError) and exc.retriable


def _error(state: RetryCallState) -> BaseException:
    assert state.outcome is not None
    error = state.outcome.exception()
    assert error is not None
    return error


def _exhausted(state: RetryCallState) -> NoReturn:
    last = _error(state)
    raise RetriesExhausted(state.attempt_number, last) from last


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

    async def attempt() -> T:  # a runtime frame: ``failure_reason`` stops walking here
        return await action()

    retrying = AsyncRetrying(sleep=sleep, **policy.tenacity(retry_if, on_retry))
    result: T = await retrying(attempt)
    return result


#: The policy of ``ServiceSettings``' defaults, for callers without settings (embedded mode).
DEFAULT_RETRY_POLICY = RetryPolicy(max_retries=5, base_delay_s=0.2, max_delay_s=5.0)


def call_with_retry_sync(
    action: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None]
) -> T:
    """``call_with_retry`` for a blocking ``action`` in a worker thread (embedded mode)."""

    def attempt() -> T:  # a runtime frame: ``failure_reason`` stops walking here
        return action()

    return Retrying(sleep=sleep, **policy.tenacity(is_retriable))(attempt)
