"""Idempotency keys: one result per (run, initiative, stage/phase) is ever applied."""

from __future__ import annotations

from typing import Any, Literal

from impact_orchestrator.journal import Journaled, SortedSet

#: why an incoming event was not applied: its key was applied before, its run or stage
#: had moved on, nothing waited for it, or a command was refused
IgnoredReason = Literal["duplicate", "late", "unexpected", "refused_command"]


def result_key(event: str, payload: dict[str, Any]) -> str:
    """The dedup key of an incoming result within its run, e.g. ``measure:pilot:a``."""
    initiative = payload.get("initiative_id") or "*"
    if event == "measure_completed":
        return f"measure:{payload['phase']}:{initiative}"
    if event == "evaluate_completed":
        return f"evaluate:{initiative}"
    if event == "allocate_completed":
        return "allocate:*"
    stage = failure_stage(payload)
    if stage == "measure":
        return f"measure:pilot:{initiative}"
    if stage == "scale":
        return f"measure:scale:{initiative}"
    return f"{stage}:{initiative}"


def failure_stage(payload: dict[str, Any]) -> str:
    """The report stage of a ``stage_failed`` payload: a scale-phase measure is ``scale``."""
    stage = str(payload["stage"])
    if stage == "measure" and payload.get("phase") == "scale":
        return "scale"
    return stage


class Seen(Journaled):
    """Keys already applied, plus counts of what was ignored and why.

    ``keys`` only grows: ``size`` and ``truncate`` undo additions (``journal``).
    """

    keys: SortedSet = set()
    ignored: dict[IgnoredReason, int] = {}

    def _grown(self) -> set[str]:
        return self.keys

    def first_time(self, key: str) -> bool:
        """Record ``key``; ``False`` when it was applied before (a duplicate)."""
        if key in self.keys:
            self.count("duplicate")
            return False
        self._add(key)
        return True

    def count(self, reason: IgnoredReason) -> None:
        self.ignored[reason] = self.ignored.get(reason, 0) + 1
