"""What a fenced producer means, judged in one place (``Fencing.judge``).

aiokafka reports ``ProducerFenced`` (or ``InvalidProducerEpoch``) when a delivery's
transaction was ended by someone else. That has four causes, told apart here:

1. the group moved on since the batch was fetched: a survivor fenced this replica as
   departed (``departures``), so the batch is its partitions' new owner's. The producer is
   renewed and ``LostOwnership`` raised: the batch is rolled back and replayed there;
2. still the owner, the first time in ``REFENCE_WINDOW_S``: a survivor fenced a replica
   restarted with the same id just as it rejoined. Renewed and ``LostOwnership``: the batch
   is rolled back and replayed here;
3. Kafka was down (the delivery stalled, or the loop is waiting out an outage): the broker
   aborted the transaction because it outlived its timeout. ``AbortedInOutage`` is raised,
   a Kafka error the loop waits out like any outage, then recovers (``KafkaClients.resume``:
   a renewed producer, the committed offsets);
4. otherwise another process uses this replica's transactional id: the error is raised as
   it is, and it is fatal (``outage.FATAL_KAFKA_ERRORS``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import NoReturn

from aiokafka.errors import InvalidProducerEpoch, KafkaError, ProducerFenced

from impact_runtime.delivery.membership import GroupMembership, LostOwnership
from impact_runtime.outage import KAFKA, Outages

#: A replica fenced twice within this while owning its batches shares its transactional id
#: with another process: the second time is fatal.
REFENCE_WINDOW_S = 60.0


class AbortedInOutage(KafkaError):
    """The broker aborted a transaction that outlived its timeout while Kafka was down
    (aiokafka reports it as ProducerFenced): waited out and recovered like an outage."""

    retriable = True


def is_fenced(exc: BaseException) -> bool:
    """aiokafka's errors for a producer whose transaction someone else ended."""
    return isinstance(exc, ProducerFenced | InvalidProducerEpoch)


class Fencing:
    """Judges a fenced delivery, and holds what judging needs (``stalled``, the last fence
    while owning the batch)."""

    def __init__(self, membership: GroupMembership, renew: Callable[[], Awaitable[None]]):
        self.membership = membership
        self.renew = renew
        #: the last delivery waited for an unreachable broker
        self.stalled = False
        self._owner_fenced_at: float | None = None

    async def judge(self, exc: BaseException, generation: int, outages: Outages) -> NoReturn:
        """Raise what the fenced delivery of a batch fetched in ``generation`` means (see
        the module docstring): ``LostOwnership``, ``AbortedInOutage`` or ``exc``."""
        try:
            await self.membership.confirm(generation)
        except LostOwnership as lost:  # 1
            await self.renew()
            raise LostOwnership(f"{lost}; fenced by the group ({exc!r})") from exc
        now, last = time.monotonic(), self._owner_fenced_at
        if not self.stalled and (last is None or now - last >= REFENCE_WINDOW_S):  # 2
            self._owner_fenced_at = now
            await self.renew()
            raise LostOwnership(f"fenced while owning the batch ({exc!r}); it is replayed")
        if self.stalled or outages.down(KAFKA):  # 3
            raise AbortedInOutage(f"transaction aborted while Kafka was down ({exc!r})") from exc
        raise exc  # 4
