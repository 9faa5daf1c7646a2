"""Plain data crossing the runtime boundary: what a handler receives and returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol


@dataclass(frozen=True)
class Incoming:
    """One decoded event handed to a handler."""

    topic: str
    partition: int
    offset: int
    key: str | None
    event: str
    value: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outgoing:
    """An Avro event to produce; the runtime fills the missing envelope fields."""

    event: str
    key: str
    value: dict[str, Any]


@dataclass(frozen=True)
class RawMessage:
    """A record as read from Kafka, before decoding."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class ProducerRecord:
    """A fully encoded record ready to be sent."""

    topic: str
    key: bytes | None
    value: bytes | Callable[[], bytes | None] | None
    headers: tuple[tuple[str, bytes], ...] = ()
    managed: bool = True  # the runtime may create this topic (False for raw Records)
    partition: int | None = None


class Source(Protocol):
    """What a ``Directive`` may use: the incoming record (None for a tick's outputs)."""

    @property
    def message(self) -> RawMessage | None: ...

    def dead_letter(self, reason: str) -> ProducerRecord:
        """The DLQ record for the incoming record, which broke its contract for ``reason``
        (counted and logged as a dead letter)."""
        ...


class Directive(Protocol):
    """An output that makes its own records instead of being encoded as an event: e.g. a
    raw changelog record, the incoming record re-produced elsewhere, or dead-lettered.

    The runtime calls ``records`` once the handler's events are encoded, and produces what
    it returns with them (a record with ``managed=False`` is coalesced: see
    ``coalesce_raw``).
    """

    def records(self, source: Source) -> list[ProducerRecord]: ...


Output = Outgoing | Directive
HandlerResult = Sequence[Output]  # a list; Sequence so list[Outgoing] is one too
Handler = Callable[[Incoming], HandlerResult | Awaitable[HandlerResult]]
Tick = Callable[[float], HandlerResult | Awaitable[HandlerResult]]


class StateHooks(Protocol):
    """In-memory handler state that must only advance with what Kafka has.

    The runtime calls ``commit()`` once a batch's (or a tick's) outputs are delivered and
    ``rollback()`` when they were not, so the state returns to its last delivered version
    and the work is done again (a replayed batch, the next tick).
    """

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


def coalesce_raw(records: list[ProducerRecord]) -> list[ProducerRecord]:
    """Keep the last raw (unmanaged) record per (topic, key) and resolve lazy values.

    Event and DLQ records pass through untouched, in order.
    """
    last = {(r.topic, r.key): i for i, r in enumerate(records) if not r.managed}
    kept = []
    for index, record in enumerate(records):
        if record.managed:
            kept.append(record)
        elif last[(record.topic, record.key)] == index:
            value = record.value() if callable(record.value) else record.value
            kept.append(replace(record, value=value))
    return kept
