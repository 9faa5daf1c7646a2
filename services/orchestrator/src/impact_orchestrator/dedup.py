"""Idempotency keys: one result per (run, initiative, stage/phase) is ever applied."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, PrivateAttr, field_serializer

IgnoredReason = str  # "duplicate" | "late" | "unexpected"


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


class Seen(BaseModel):
    """Keys already applied, plus counts of what was ignored and why.

    ``keys`` only grows: :meth:`size` and :meth:`truncate` undo additions in O(1) each.
    """

    keys: set[str] = set()
    ignored: dict[IgnoredReason, int] = {}
    _added: list[str] = PrivateAttr(default_factory=list)  # keys, oldest first

    def __eq__(self, other: object) -> bool:
        """Equal fields: the undo journal is no part of the value."""
        return type(other) is type(self) and self.__dict__ == other.__dict__

    @field_serializer("keys")
    def _sorted(self, keys: set[str]) -> list[str]:
        return sorted(keys)

    def first_time(self, key: str) -> bool:
        """Record ``key``; ``False`` when it was applied before (a duplicate)."""
        if key in self.keys:
            self.count("duplicate")
            return False
        self.keys.add(key)
        self._added.append(key)
        return True

    def size(self) -> int:
        """A mark for :meth:`truncate`."""
        return len(self._added)

    def added_since(self, size: int) -> list[str]:
        """The keys added since :meth:`size` returned ``size``."""
        return self._added[size:]

    def truncate(self, size: int) -> None:
        """Forget the keys added since :meth:`size` returned ``size``."""
        while len(self._added) > size:
            self.keys.discard(self._added.pop())

    def count(self, reason: IgnoredReason) -> None:
        self.ignored[reason] = self.ignored.get(reason, 0) + 1
