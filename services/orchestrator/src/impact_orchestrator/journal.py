"""A run state's growing sets with an undo journal (the barrier's settles, dedup's keys).

A batch of commands is applied to the in-memory state, then committed or rolled back
with its Kafka transaction: each set only grows while a batch runs, so undoing it is
forgetting the items added since a mark (``size``/``truncate``, O(1) per item).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, PlainSerializer, PrivateAttr

#: a set of strings written sorted, so a state's JSON does not depend on set order
SortedSet = Annotated[set[str], PlainSerializer(sorted, return_type=list[str])]


class Journaled(BaseModel):
    """Base of a model with one growing set; subclasses add to it with :meth:`_add`."""

    _added: list[str] = PrivateAttr(default_factory=list)  # additions, oldest first

    def __eq__(self, other: object) -> bool:
        """Equal fields: the undo journal is no part of the value."""
        return type(other) is type(self) and self.__dict__ == other.__dict__

    def _grown(self) -> set[str]:
        """The set the journal records additions to."""
        raise NotImplementedError

    def _add(self, item: str) -> None:
        self._grown().add(item)
        self._added.append(item)

    def size(self) -> int:
        """A mark for :meth:`truncate`."""
        return len(self._added)

    def added_since(self, size: int) -> list[str]:
        """The items added since :meth:`size` returned ``size``."""
        return self._added[size:]

    def truncate(self, size: int) -> None:
        """Forget the items added since :meth:`size` returned ``size``."""
        grown = self._grown()
        while len(self._added) > size:
            grown.discard(self._added.pop())
