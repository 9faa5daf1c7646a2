"""The registry's log interface (``SchemaLog``) and its in-memory implementation for tests;
the Kafka one is ``storage.KafkaSchemaLog``."""

from __future__ import annotations

from typing import Protocol

from impact_registry.state import Record
from impact_registry.tail import Apply


class NotWriter(Exception):
    """This instance may not write (a follower, or a writer another one fenced): the
    request goes to the writer instead."""


class SchemaLog(Protocol):
    """The durable, ordered log of registry records, and this instance's role on it.

    The log, not its caller, applies records to the state (``apply``, given to ``start``):
    the records written before, those other instances write later and this instance's own.
    """

    #: this instance's advertised URL (None: not reachable by other instances)
    url: str | None

    async def start(self, apply: Apply) -> None:
        """Connect and apply every record written so far, in order; keep applying."""
        ...

    async def append(self, records: list[Record]) -> None:
        """Durably write ``records`` in order; return once all are acknowledged and applied.

        Raises:
            NotWriter: this instance is not (or no longer) the writer; nothing was written.
        """
        ...

    @property
    def is_writer(self) -> bool: ...

    @property
    def position(self) -> int:
        """How far the state is built: every record below this log position is applied."""
        ...

    async def wait_position(self, position: int, timeout_s: float) -> None:
        """Return once ``position`` is reached (TimeoutError after ``timeout_s``)."""
        ...

    async def sync(self, timeout_s: float, *, acknowledged: bool = False) -> None:
        """Catch up with every record committed before this call (``acknowledged``: every
        record acknowledged before it, whose commit marker may still be on its way)."""
        ...

    async def writer_url(self, timeout_s: float) -> str | None:
        """None when this instance writes, else the writer's URL; waits while no writer is
        known or this instance is being made the writer (TimeoutError after ``timeout_s``)."""
        ...

    async def stop(self) -> None: ...


class MemorySchemaLog:
    """A log in a Python list: the same server logic without a broker (unit tests); it is
    always the writer."""

    url: str | None = None

    def __init__(self) -> None:
        self.records: list[Record] = []
        self._apply: Apply | None = None

    async def start(self, apply: Apply) -> None:
        self._apply = apply
        for key, value in self.records:
            apply(key, value)

    async def append(self, records: list[Record]) -> None:
        self.records.extend(records)
        assert self._apply is not None, "MemorySchemaLog.append() before start()"
        for key, value in records:
            self._apply(key, value)

    @property
    def is_writer(self) -> bool:
        return True

    @property
    def position(self) -> int:
        return len(self.records)

    async def wait_position(self, position: int, timeout_s: float) -> None:
        return None

    async def sync(self, timeout_s: float, *, acknowledged: bool = False) -> None:
        return None

    async def writer_url(self, timeout_s: float) -> str | None:
        return None

    async def stop(self) -> None:
        return None
