"""The retry policy drives async and blocking calls alike: same delays, same give-up."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from impact_runtime import ComponentError, RetryableError
from impact_runtime.retry import (
    RetriesExhausted,
    RetryPolicy,
    call_with_retry,
    call_with_retry_sync,
)

POLICY = RetryPolicy(max_retries=4, base_delay_s=0.5, max_delay_s=2.0)


def flaky(failures: int) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def action() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise RetryableError(f"down {len(calls)}")
        return "done"

    return calls, action


async def test_async_retries_with_the_policy_delays_and_reports_each_retry() -> None:
    sleeps: list[float] = []
    retries: list[tuple[int, float, str]] = []
    calls, action = flaky(3)

    async def run() -> str:
        return action()

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    got = await call_with_retry(
        run, POLICY, sleep, on_retry=lambda n, d, e: retries.append((n, d, str(e)))
    )
    assert (got, len(calls), sleeps) == ("done", 4, [0.5, 1.0, 2.0])
    assert retries == [(1, 0.5, "down 1"), (2, 1.0, "down 2"), (3, 2.0, "down 3")]


def test_sync_retries_with_the_same_delays() -> None:
    sleeps: list[float] = []
    calls, action = flaky(3)
    got = call_with_retry_sync(action, POLICY, sleeps.append)
    assert (got, len(calls), sleeps) == ("done", 4, [0.5, 1.0, 2.0])


def test_sync_gives_up_after_the_retries_with_the_last_error() -> None:
    sleeps: list[float] = []
    calls, action = flaky(10)
    with pytest.raises(RetriesExhausted) as caught:
        call_with_retry_sync(action, POLICY, sleeps.append)
    assert (caught.value.attempts, len(calls), sleeps) == (5, 5, [0.5, 1.0, 2.0, 2.0])
    assert str(caught.value.last) == "down 5"
    assert caught.value.__cause__ is caught.value.last


def test_sync_does_not_retry_a_permanent_error() -> None:
    sleeps: list[float] = []

    def action() -> None:
        raise ComponentError("bad input")

    with pytest.raises(ComponentError):
        call_with_retry_sync(action, POLICY, sleeps.append)
    assert sleeps == []
