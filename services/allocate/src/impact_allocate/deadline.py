"""A wall-clock budget shared by every step of one allocation (no per-call floor)."""

from __future__ import annotations

import time


class Deadline:
    """``seconds`` of wall clock from construction; ``left()`` reaches 0 and stays there."""

    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic()
        self.end = self.start + seconds

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def passed(self) -> bool:
        return time.monotonic() >= self.end

    def share(self, fraction: float) -> Deadline:
        """A sub-deadline ending after ``fraction`` of the time left (never after this one)."""
        return Deadline(self.left() * fraction)


class TimeUp(Exception):
    """Raised inside a step when its deadline has passed; callers keep their best so far."""


def check(deadline: Deadline | None) -> None:
    """Raise ``TimeUp`` once ``deadline`` has passed."""
    if deadline is not None and deadline.passed():
        raise TimeUp
