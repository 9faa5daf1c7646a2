"""Fan-in barrier: which initiatives a stage still waits for."""

from __future__ import annotations

from typing import Any

from pydantic import PrivateAttr

from impact_orchestrator.journal import Journaled, SortedSet


class Barrier(Journaled):
    """Waits until every expected initiative is settled (succeeded or dropped out).

    ``expected`` is never changed after construction; membership tests use a set of it.
    ``settled`` only grows: ``size`` and ``truncate`` undo settles (``journal``).
    """

    expected: list[str] = []
    settled: SortedSet = set()
    _expected: frozenset[str] = PrivateAttr(frozenset())

    def model_post_init(self, context: Any, /) -> None:
        self._expected = frozenset(self.expected)

    def _grown(self) -> set[str]:
        return self.settled

    def waits_for(self, initiative_id: str) -> bool:
        return initiative_id in self._expected and initiative_id not in self.settled

    def expects(self, initiative_id: str) -> bool:
        return initiative_id in self._expected

    def settle(self, initiative_id: str) -> None:
        if self.waits_for(initiative_id):
            self._add(initiative_id)

    def missing(self) -> list[str]:
        """Expected but not settled, in expected order."""
        return [i for i in self.expected if i not in self.settled]

    @property
    def complete(self) -> bool:
        return len(self.settled) == len(self.expected)

    def progress(self) -> tuple[int, int]:
        """``(settled, expected)``, the ``[k/N]`` of ``run_status``."""
        return len(self.settled), len(self.expected)
