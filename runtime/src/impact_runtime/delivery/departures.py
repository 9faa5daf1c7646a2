"""Aborting the transaction a group member left open when it died (decision 0074).

A replica killed inside a transaction leaves it open until its transaction timeout (60 s
for a stage, 15 min for the orchestrator, decision 0045): ``read_committed`` readers of
every partition it wrote see nothing past it until then, so every run on those partitions
stalls. Kafka aborts an open transaction as soon as a producer initialises with the same
transactional id. A replica restarted with a stable id does that itself; one that never
comes back, or comes back under a new id, does not.

So in ``exactly_once`` each member names its transactional id as its consumer client id,
and after every rebalance the survivors look at the group: each id seen before and gone
now belongs to a member that left, and initialising a producer with it aborts what it
left open. A member that left cleanly committed first, so this aborts nothing of it. A
paused replica the group gave up on (a zombie) finds its producer fenced when it resumes,
and is judged by ``fencing`` and replays from what the group committed.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from impact_kafka.config import client_options, producer_options
from tenacity import AsyncRetrying, retry_if_result, stop_after_delay, wait_fixed

from impact_runtime.settings import ServiceSettings

#: How long to wait for the group to settle (state Stable) before judging who left.
STABLE_TIMEOUT_S = 30.0
STABLE_POLL_S = 0.5


async def _members_if_stable(admin: AIOKafkaAdminClient, group: str) -> set[str] | None:
    """Client ids of ``group``'s members if its state is Stable, else None."""
    [response] = await admin.describe_consumer_groups([group])
    [described] = response.to_object()["groups"]
    if described["state"] != "Stable":
        return None
    return {m["client_id"] for m in described["members"]}


def departed(seen: set[str], members: set[str], own: str) -> set[str]:
    """The ids seen in the group before that are not in it now (never our own)."""
    return seen - members - {own}


class DepartedMembers:
    """Remembers the transactional ids of its group's members and fences those that leave.

    ``check()`` runs after each rebalance (in the background: a rebalance callback must
    return quickly). Only a group in state ``Stable`` is judged: during a rebalance a
    live member may not have rejoined yet, and fencing it would fail its next commit.
    """

    def __init__(self, settings: ServiceSettings, own_id: str, log: Any) -> None:
        self.settings = settings
        self.own_id = own_id
        self.log = log
        self.seen: set[str] = set()
        self.fenced: list[str] = []

    async def check(self) -> None:
        """Describe the group once it is stable; fence each member that left since the
        last look. Kafka errors are logged, not raised: the next rebalance looks again."""
        try:
            members = await self._stable_members()
            if members is None:
                self.log.info("departed_check_skipped", reason="group not stable")
                return
            gone = departed(self.seen, members, self.own_id)
            for transactional_id in sorted(gone):
                await self._fence(transactional_id)
            self.seen = (self.seen | members) - gone
        except (KafkaError, OSError, TimeoutError) as exc:
            self.log.warning("departed_check_failed", error=repr(exc))

    async def _stable_members(self) -> set[str] | None:
        """Client ids of the group's members once its state is Stable (None: it did not
        settle within ``STABLE_TIMEOUT_S``)."""
        group = self.settings.consumer_group
        admin = AIOKafkaAdminClient(**client_options(self.settings))
        await admin.start()
        try:
            polling = AsyncRetrying(
                retry=retry_if_result(lambda members: members is None),
                stop=stop_after_delay(STABLE_TIMEOUT_S),
                wait=wait_fixed(STABLE_POLL_S),
                retry_error_callback=lambda state: None,
            )
            members: set[str] | None = await polling(_members_if_stable, admin, group)
            return members
        finally:
            await admin.close()

    async def _fence(self, transactional_id: str) -> None:
        """Initialise a producer with ``transactional_id``: the coordinator aborts its
        open transaction (if any) and bumps its epoch, which fences the old producer."""
        producer = AIOKafkaProducer(
            **producer_options(self.settings),
            transactional_id=transactional_id,
            enable_idempotence=True,
            transaction_timeout_ms=self.settings.transaction_timeout_ms,
        )
        await producer.start()  # returns once the coordinator has aborted and fenced
        self.fenced.append(transactional_id)
        self.log.warning("departed_member_fenced", transactional_id=transactional_id)
        await producer.stop()
