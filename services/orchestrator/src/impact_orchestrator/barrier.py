"""Fan-in barrier: which initiatives a stage still waits for."""

from __future__ import annotations

from pydantic import BaseModel, field_serializer


class Barrier(BaseModel):
    """Waits until every expected initiative is settled (succeeded or dropped out)."""

    expected: list[str] = []
    settled: set[str] = set()

    @field_serializer("settled")
    def _sorted(self, settled: set[str]) -> list[str]:
        """Sorted, so a state's JSON does not depend on set iteration order."""
        return sorted(settled)

    def waits_for(self, initiative_id: str) -> bool:
        return initiative_id in self.expected and initiative_id not in self.settled

    def settle(self, initiative_id: str) -> None:
        if self.waits_for(initiative_id):
            self.settled.add(initiative_id)

    def missing(self) -> list[str]:
        """Expected but not settled, in expected order."""
        return [i for i in self.expected if i not in self.settled]

    @property
    def complete(self) -> bool:
        return len(self.settled) == len(self.expected)

    def progress(self) -> tuple[int, int]:
        """``(settled, expected)``, the ``[k/N]`` of ``run_status``."""
        return len(self.settled), len(self.expected)
