"""Run deadline: when stragglers stop being waited for, and what happens then."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

DEADLINE_REASON = "deadline exceeded"
DeadlinePolicy = Literal["fail", "proceed"]


class Deadline(BaseModel):
    """``seconds`` after the run starts; under ``proceed`` it re-arms for the next stage."""

    seconds: float | None = None
    policy: DeadlinePolicy = "proceed"
    at: float | None = None

    @classmethod
    def start(cls, seconds: float | None, policy: DeadlinePolicy, now: float) -> Deadline:
        return cls(seconds=seconds, policy=policy, at=None if seconds is None else now + seconds)

    def expired(self, now: float) -> bool:
        return self.at is not None and now >= self.at

    def rearm(self, now: float) -> None:
        """Give the remaining stages a fresh window after stragglers were dropped."""
        if self.seconds is not None:
            self.at = now + self.seconds
