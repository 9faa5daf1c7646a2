"""Polling until a condition holds, for tests and their fixtures."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


async def wait_for(
    condition: Callable[[], Any],
    timeout: float,
    interval: float = 0.05,
    message: str = "",
) -> Any:
    """Poll a sync or async predicate until it returns a truthy value, and return that value.

    Raises TimeoutError (with ``message``) when ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(message or f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
