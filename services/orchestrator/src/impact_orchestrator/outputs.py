"""What the orchestrator's handler returns besides events: runtime ``Directive``s that make
their own records (a raw changelog record, the incoming event forwarded to its owner
partition, or dead-lettered)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from impact_runtime.structs import ProducerRecord, Source

#: Header a ``Forward`` adds: ``<partition>:<offset>`` the record was forwarded from.
FORWARDED_FROM = "forwarded_from"


@dataclass(frozen=True)
class Record:
    """A raw record (a JSON changelog entry, or a tombstone when value is None).

    ``value`` may be a zero-argument callable: raw records of one batch are coalesced by
    (topic, key), last wins, and only the survivors' callables are called, so a changelog
    whose state is costly to serialise is written once per key and batch, not per message.
    """

    topic: str
    key: str
    value: bytes | Callable[[], bytes | None] | None
    partition: int | None = None  # None: the producer's partitioner picks it from the key

    def records(self, source: Source) -> list[ProducerRecord]:
        key = self.key.encode()
        return [
            ProducerRecord(self.topic, key, self.value, managed=False, partition=self.partition)
        ]


@dataclass(frozen=True)
class Forward:
    """Produce the incoming record again, unchanged (key, value, headers), to ``partition``
    of its own topic: e.g. to the partition that owns it. The record's offset is committed
    with the forward, so it moves exactly once in exactly_once mode."""

    partition: int

    def records(self, source: Source) -> list[ProducerRecord]:
        message = source.message
        if message is None:
            raise TypeError("Forward is an answer to an incoming record, not a tick output")
        origin = (FORWARDED_FROM, f"{message.partition}:{message.offset}".encode())
        headers = (*message.headers, origin)
        return [
            ProducerRecord(
                message.topic, message.key, message.value, headers, partition=self.partition
            )
        ]


@dataclass(frozen=True)
class Reject:
    """Dead-letter the incoming record with ``reason`` (it broke its contract); the other
    outputs the handler returned with it are still produced."""

    reason: str

    def records(self, source: Source) -> list[ProducerRecord]:
        return [source.dead_letter(self.reason)]
