"""Poll a condition to a deadline (benchmarks never sleep a fixed time to wait)."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_INTERVAL_S = 0.1


def wait_until(condition: Callable[[], bool], timeout_s: float, message: str) -> None:
    """Return once ``condition()`` is true; raise ``TimeoutError(message)`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{message} within {timeout_s:.0f} s")
        time.sleep(POLL_INTERVAL_S)
