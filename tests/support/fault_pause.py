"""What the fault suite's test-only components share (no stage package imported here)."""

from __future__ import annotations

import os
import time

INJECTED = "injected fault"


def pause(env: str) -> None:
    """Sleep the seconds in the environment variable ``env`` (unset: no pause)."""
    delay = float(os.environ.get(env) or 0.0)
    if delay > 0:
        time.sleep(delay)
