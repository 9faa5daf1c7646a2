"""Fan-in barrier: which initiatives a stage still waits for."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, PrivateAttr, field_serializer


class Barrier(BaseModel):
    """Waits until every expected initiative is settled (succeeded or dropped out).

    ``expected`` is never changed after construction; membership tests use a set of it.
    ``settled`` only grows: :meth:`size` and :meth:`truncate` undo settles in O(1) each.
    """

    expected: list[str] = []
    settled: set[str] = set()
    _expected: frozenset[str] = PrivateAttr(frozenset())
    _added: list[str] = PrivateAttr(default_factory=list)  # settles, oldest first

    def model_post_init(self, context: Any, /) -> None:
        self._expected = frozenset(self.expected)

    def __eq__(self, other: object) -> bool:
        """Equal fields: the undo journal is no part of the value."""
        return type(other) is type(self) and self.__dict__ == other.__dict__

    @field_serializer("settled")
    def _sorted(self, settled: set[str]) -> list[str]:
        """Sorted, so a state's JSON does not depend on set iteration order."""
        return sorted(settled)

    def waits_for(self, initiative_id: str) -> bool:
        return initiative_id in self._expected and initiative_id not in self.settled

    def expects(self, initiative_id: str) -> bool:
        return initiative_id in self._expected

    def settle(self, initiative_id: str) -> None:
        if self.waits_for(initiative_id):
            self.settled.add(initiative_id)
            self._added.append(initiative_id)

    def size(self) -> int:
        """A mark for :meth:`truncate`."""
        return len(self._added)

    def settled_since(self, size: int) -> list[str]:
        """The initiatives settled since :meth:`size` returned ``size``."""
        return self._added[size:]

    def truncate(self, size: int) -> None:
        """Undo the settles made since :meth:`size` returned ``size``."""
        while len(self._added) > size:
            self.settled.discard(self._added.pop())

    def missing(self) -> list[str]:
        """Expected but not settled, in expected order."""
        return [i for i in self.expected if i not in self.settled]

    @property
    def complete(self) -> bool:
        return len(self.settled) == len(self.expected)

    def progress(self) -> tuple[int, int]:
        """``(settled, expected)``, the ``[k/N]`` of ``run_status``."""
        return len(self.settled), len(self.expected)
