"""Which registry instance writes: Kafka's group protocol, as Confluent's registry does.

Every instance joins one consumer group subscribed to the single-partition ``_schemas``
topic; the member assigned partition 0 is the writer. The assignor (run by whichever member
the coordinator makes group leader) keeps the newest writer while it is still a member and
tells every member the writer's URL in its assignment. aiokafka heartbeats in the
background: a member that stops (SIGKILL, SIGSTOP, a network partition) is dropped after the
session timeout and the others rebalance. The election only says who *should* write; the
transactional producer's fencing (``storage.py``) makes sure nobody else *can*.

This consumer never reads the partition (it is paused): ``tail.LogTailer`` does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)
from impact_kafka.config import KafkaClientConfig, consumer_options

from impact_registry.tail import stop_task

log = logging.getLogger("impact_registry")


@dataclass(frozen=True)
class Member:
    """What a member tells the group: its URL and since when it writes (None: it does not)."""

    url: str
    writer_since: float | None = None

    def encode(self) -> bytes:
        return json.dumps({"url": self.url, "writer_since": self.writer_since}).encode()

    @staticmethod
    def decode(data: bytes) -> Member:
        try:
            found = json.loads(data)
            return Member(str(found["url"]), found.get("writer_since"))
        except (ValueError, KeyError, TypeError):
            return Member("")  # another kind of member: never chosen while ours are there


def choose_writer(members: Mapping[str, Member]) -> str:
    """The member id to write: the newest writer still in the group (its promotion fenced
    every older one), else the first member with a URL, by id."""
    writers = [(m.writer_since, i) for i, m in members.items() if m.writer_since is not None]
    # ties (two members promoted in the same instant) go to the smaller id
    if writers:
        return min(writers, key=lambda w: (-w[0], w[1]))[1]
    return min(members, key=lambda i: (not members[i].url, i))


class WriterAssignor:
    """Partition 0 of the topic to the chosen writer; every member learns the writer's URL.

    Duck-typed like aiokafka's ``AbstractPartitionAssignor`` (whose methods are
    classmethods): an instance carries this member's own URL and writer state.
    """

    name = "impact-registry-writer"
    version = 0

    def __init__(self, topic: str, member: Callable[[], Member]) -> None:
        self.topic = topic
        self.member = member
        self.writer_url: str | None = None

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        return ConsumerProtocolMemberMetadata(self.version, list(topics), self.member().encode())

    def assign(
        self, cluster: Any, members: Mapping[str, ConsumerProtocolMemberMetadata]
    ) -> dict[str, ConsumerProtocolMemberAssignment]:
        decoded = {i: Member.decode(m.user_data) for i, m in members.items()}
        writer = choose_writer(decoded)
        note = json.dumps({"writer_url": decoded[writer].url}).encode()
        return {
            i: ConsumerProtocolMemberAssignment(
                self.version, [(self.topic, [0])] if i == writer else [], note
            )
            for i in members
        }

    def on_assignment(self, assignment: ConsumerProtocolMemberAssignment) -> None:
        try:
            self.writer_url = json.loads(assignment.user_data)["writer_url"] or None
        except (ValueError, KeyError, TypeError):
            self.writer_url = None


class WriterElection(ConsumerRebalanceListener):
    """This instance's membership in the writers' group.

    ``elected``: this member holds partition 0 (it should write); ``writer_url``: the URL
    of the member that does (None while a rebalance is in progress). ``on_change`` runs
    after every assignment.
    """

    def __init__(
        self,
        kafka: KafkaClientConfig,
        topic: str,
        *,
        group_id: str,
        member: Callable[[], Member],
        on_change: Callable[[], None],
        session_timeout_ms: int,
    ) -> None:
        self.kafka, self.topic, self.group_id = kafka, topic, group_id
        self.on_change = on_change
        self.session_timeout_ms = session_timeout_ms
        self.assignor = WriterAssignor(topic, member)
        self.elected = False
        self.writer_url: str | None = None
        #: assignments received so far (a newer one comes from a newer group generation)
        self.assignments = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **consumer_options(self.kafka),
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(100, min(1000, self.session_timeout_ms // 3)),
            rebalance_timeout_ms=self.session_timeout_ms,
            partition_assignment_strategy=(self.assignor,),
        )
        self._consumer.subscribe([self.topic], listener=self)
        await self._consumer.start()
        self._task = asyncio.create_task(self._keep_polling(self._consumer))

    @staticmethod
    async def _keep_polling(consumer: AIOKafkaConsumer) -> None:
        """aiokafka leaves the group when ``getmany`` is not called for max.poll.interval."""
        while True:
            await consumer.getmany(timeout_ms=1000)

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """A rebalance started: nobody is known to write until it ends. A writer keeps its
        producer meanwhile (fencing, not this flag, stops a replaced writer)."""
        self.writer_url = None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if self._consumer is not None and assigned:
            self._consumer.pause(*assigned)
        self.assignments += 1
        self.elected = TopicPartition(self.topic, 0) in set(assigned)
        self.writer_url = self.assignor.writer_url
        log.info(
            "registry writer election: writer %s%s",
            self.writer_url,
            " (this instance)" if self.elected else "",
        )
        self.on_change()

    async def stop(self) -> None:
        """Leave the group (the others rebalance at once, without a session timeout)."""
        await stop_task(self._task)
        self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
