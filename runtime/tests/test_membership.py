"""GroupMembership: a batch commits only in the group generation it was fetched in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer
from impact_runtime.delivery.membership import NO_GENERATION, GroupMembership, LostOwnership


@dataclass
class Coordinator:
    """The two members of aiokafka's group coordinator that GroupMembership reads."""

    generation: int
    answers: list[bool] = field(default_factory=list)  # what each heartbeat returns
    fenced_by_heartbeat: bool = False  # the heartbeat's answer resets the generation

    async def _do_heartbeat(self) -> bool:
        if self.fenced_by_heartbeat:
            self.generation = NO_GENERATION
        return self.answers.pop(0)


def membership(coordinator: Coordinator | None) -> GroupMembership:
    consumer: Any = type("Consumer", (), {"_coordinator": coordinator})()
    return GroupMembership(cast(AIOKafkaConsumer, consumer))


async def test_the_same_generation_confirmed_by_a_heartbeat_may_commit() -> None:
    await membership(Coordinator(7, [True])).confirm(7)


@pytest.mark.parametrize(
    ("coordinator", "fetched_in"),
    [
        (Coordinator(8, [True]), 7),  # the group rebalanced since the fetch
        (Coordinator(7, [False]), 7),  # the coordinator no longer knows this member
        (Coordinator(7, [True], fenced_by_heartbeat=True), 7),
        (Coordinator(NO_GENERATION, [True]), NO_GENERATION),  # never joined
        (None, 7),
    ],
)
async def test_anything_else_is_lost_ownership(
    coordinator: Coordinator | None, fetched_in: int
) -> None:
    with pytest.raises(LostOwnership):
        await membership(coordinator).confirm(fetched_in)


def test_generation_reads_the_coordinator() -> None:
    assert membership(Coordinator(3)).generation == 3
    assert membership(None).generation == NO_GENERATION
