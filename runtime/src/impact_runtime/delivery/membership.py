"""Does this replica still own what it fetched? Asked just before a transaction commits.

aiokafka adds a transaction's offsets with TxnOffsetCommit v0, which carries no group
generation (KIP-447 added it in v3), so the broker accepts them from a replica that was
paused past its session timeout while its partitions went to another replica (a zombie):
both commit the same input, and its outputs are on the topic twice. Confirming the
generation with the group coordinator right before the commit turns the zombie's commit
into an abort and a replay by the partition's owner (decision 0055).
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer

#: aiokafka's generation before the consumer has joined its group, or after it was fenced.
NO_GENERATION = -1


class LostOwnership(Exception):
    """The group moved on since the batch was fetched: its transaction must not commit."""


class GroupMembership:
    """The consumer group generation a batch was fetched in, confirmed before its commit.

    aiokafka has no public call for either, so this reads its group coordinator; the
    zombie test (``tests/integration/test_faults_pause.py``) fails if that ever changes.
    """

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer

    @property
    def generation(self) -> int:
        """The generation this consumer is in now (``NO_GENERATION`` when in none)."""
        coordinator = getattr(self._consumer, "_coordinator", None)
        return NO_GENERATION if coordinator is None else int(coordinator.generation)

    async def confirm(self, generation: int) -> None:
        """Raise ``LostOwnership`` unless the consumer is still a member of ``generation``,
        as the coordinator answers a heartbeat now. A rebalance in progress is still
        ownership: it cannot hand the partitions on before this replica rejoins, and its
        revocation waits for the transaction being delivered."""
        coordinator = getattr(self._consumer, "_coordinator", None)
        if coordinator is None or generation == NO_GENERATION:
            raise LostOwnership(f"not a member of the group (generation {generation})")
        confirmed = coordinator.generation == generation and await coordinator._do_heartbeat()
        if confirmed and coordinator.generation == generation:  # the answer may reset it
            return
        raise LostOwnership(
            f"fetched in generation {generation}, the group is at {coordinator.generation}"
            " or no longer knows this member"
        )
