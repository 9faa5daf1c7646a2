"""A wall-clock budget shared by the several solver calls of one allocation."""

from __future__ import annotations

import time


class Deadline:
    """Seconds left of ``seconds`` from construction (never below a 1 s floor per call)."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(1.0, self.end - time.monotonic())

    def passed(self) -> bool:
        return time.monotonic() >= self.end
