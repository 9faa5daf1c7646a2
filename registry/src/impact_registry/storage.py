"""Where the registry keeps its state: a compacted Kafka topic (``schema_log.py`` has the
interface and the in-memory log of the tests).

Any number of server instances share one topic (decision 0065): the group election
(``election.py``) says which one writes; it writes with a transactional producer whose
fixed ``transactional_id`` fences every earlier writer, and reads the topic to its end
(``read_committed``) before allocating any id, so no id is handed out twice (0050).
Every instance applies every record through its tail (``tail.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Coroutine
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaError,
    ProducerFenced,
    TopicAlreadyExistsError,
)
from impact_kafka.config import (
    KafkaClientConfig,
    client_options,
    producer_options,
    topic_configs,
)
from impact_kafka.replication import topic_replication

from impact_registry.election import Member, WriterElection
from impact_registry.schema_log import NotWriter
from impact_registry.state import Record
from impact_registry.tail import Apply, LogTailer

log = logging.getLogger("impact_registry")
#: The registry's own replication settings (``__main__``), named in errors (decision 0061).
SETTING_NAMES = ("IMPACT_REGISTRY_REPLICATION_FACTOR", "IMPACT_REGISTRY_MIN_INSYNC_REPLICAS")
#: Failover after a writer dies takes about this plus a second (the broker's
#: ``group.min.session.timeout.ms`` is 6 s by default: it refuses less).
DEFAULT_SESSION_TIMEOUT_MS = 6000
FENCED = (ProducerFenced, InvalidProducerEpoch)


def _dumps(obj: dict[str, Any] | None) -> bytes | None:
    return None if obj is None else json.dumps(obj, sort_keys=True).encode()


class KafkaSchemaLog:
    """Registry records in a compacted, single-partition Kafka topic (``_schemas``).

    ``start`` creates the topic if needed (``cleanup.policy=compact``, 1 partition), applies
    it to its end and joins the writers' group (``group_id``, default ``<topic>-writers``).
    When elected, the instance starts a producer with ``transactional_id`` (default
    ``<topic>-writer``): its ``init_transactions`` fences the previous writer and ends its
    open transaction, then the tail catches up to the end; only then ``append`` writes,
    one transaction per call. A fenced writer steps down (``NotWriter``).
    Connection options (SASL, SSL) and sizes come from ``kafka`` exactly as in the runtime.
    """

    def __init__(
        self,
        kafka: KafkaClientConfig,
        topic: str = "_schemas",
        *,
        replication_factor: int | str = "auto",
        min_insync_replicas: int | str = "auto",
        timeout_s: float = 60.0,
        url: str | None = None,
        group_id: str | None = None,
        transactional_id: str | None = None,
        session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS,
    ) -> None:
        self.kafka = kafka
        self.topic = topic
        self.replication_factor = replication_factor
        self.min_insync_replicas = min_insync_replicas
        self.timeout_s = timeout_s
        self.url = url
        self.group_id = group_id or f"{topic}-writers"
        self.transactional_id = transactional_id or f"{topic}-writer"
        self.session_timeout_ms = session_timeout_ms
        self._producer: AIOKafkaProducer | None = None
        self._writer_since: float | None = None
        self._promotion: asyncio.Task[None] | None = None
        self._role = asyncio.Condition()
        self._tail: LogTailer | None = None
        self._election: WriterElection | None = None
        self._fenced_in: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, apply: Apply) -> None:
        await self._create_topic()
        self._tail = LogTailer(self.kafka, self.topic, apply)
        await self._tail.start()
        await self._tail.sync(self.timeout_s)
        self._election = WriterElection(
            self.kafka,
            self.topic,
            group_id=self.group_id,
            member=lambda: Member(self.url or "", self._writer_since),
            on_change=self._role_changed,
            session_timeout_ms=self.session_timeout_ms,
        )
        await self._election.start()

    async def _create_topic(self) -> None:
        admin = AIOKafkaAdminClient(**client_options(self.kafka))
        await admin.start()
        try:
            replicas, replication = await topic_replication(
                admin, self.replication_factor, self.min_insync_replicas, SETTING_NAMES
            )
            topic = NewTopic(
                self.topic,
                num_partitions=1,
                replication_factor=replicas,
                topic_configs={
                    **topic_configs(self.kafka),
                    **replication,
                    "cleanup.policy": "compact",
                },
            )
            await admin.create_topics([topic])
        except TopicAlreadyExistsError:
            pass
        finally:
            await admin.close()

    # the writer role

    @property
    def is_writer(self) -> bool:
        return self._producer is not None

    @property
    def elected(self) -> bool:
        return self._election is not None and self._election.elected

    def _role_changed(self) -> None:
        """After each assignment: promote when elected, step down when not. A writer that
        was fenced waits for a newer assignment (or a session timeout without one) before
        promoting again: the fencer may be the group's rightful writer."""
        fenced = self._fenced_in is not None and self._fenced_in == self._generation()
        if self.elected and self._producer is None and self._promotion is None and not fenced:
            self._promotion = self._spawn(self._promote())
        elif not self.elected:
            self._step_down()
        self._spawn(self._notify())

    def _generation(self) -> int:
        return -1 if self._election is None else self._election.assignments

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _notify(self) -> None:
        async with self._role:
            self._role.notify_all()

    async def _promote(self) -> None:
        """Steps: 1. a producer with the writers' transactional id (its start fences every
        earlier writer and ends their open transactions); 2. apply the log to its end;
        3. write. Retried while still elected."""
        assert self._tail is not None
        try:
            while self.elected and self._producer is None:
                producer = AIOKafkaProducer(
                    **producer_options(self.kafka),
                    acks="all",
                    enable_idempotence=True,
                    transactional_id=self.transactional_id,
                )
                try:
                    await producer.start()  # Step 1
                    await self._tail.sync(self.timeout_s)  # Step 2
                except (KafkaError, TimeoutError) as exc:
                    log.warning("registry writer promotion failed, retrying: %r", exc)
                    await producer.stop()
                    await asyncio.sleep(0.5)
                    continue
                if not self.elected:
                    await producer.stop()
                    break
                self._producer, self._writer_since = producer, time.time()  # Step 3
                log.info("registry writer: this instance (%s) writes", self.url)
        finally:
            self._promotion = None
            await self._notify()

    def _step_down(self) -> None:
        producer, self._producer, self._writer_since = self._producer, None, None
        if producer is not None:
            log.info("registry writer: this instance (%s) stepped down", self.url)
            self._spawn(producer.stop())

    async def writer_url(self, timeout_s: float) -> str | None:
        async with asyncio.timeout(timeout_s), self._role:
            while True:
                if self._producer is not None:
                    return None
                known = None if self._election is None else self._election.writer_url
                if not self.elected and known and known != self.url:
                    return known
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await self._role.wait()

    async def append(self, records: list[Record]) -> None:
        """One transaction holding ``records``, applied once committed."""
        producer, tail = self._producer, self._tail
        if producer is None or tail is None:
            raise NotWriter(f"this registry instance ({self.url}) is not the writer")
        try:
            async with asyncio.timeout(self.timeout_s), producer.transaction():
                sent = [
                    await producer.send(self.topic, key=_dumps(k), value=_dumps(v), partition=0)
                    for k, v in records
                ]
                last = (await asyncio.gather(*sent))[-1].offset
                tail.skip_through(last)  # before the commit: the tail may read them at once
        except FENCED as exc:
            self._drop(producer, fenced=True)
            raise NotWriter(f"this registry instance ({self.url}) was fenced: {exc!r}") from exc
        except (KafkaError, TimeoutError):
            self._drop(producer, fenced=False)  # it may be unusable: start a fresh one
            raise
        await tail.applied(records, last)

    def _drop(self, producer: AIOKafkaProducer, *, fenced: bool) -> None:
        """Step down from ``producer``; promote again now (an error), or if fenced, once
        a newer assignment or a session timeout without one says this instance writes."""
        if self._producer is not producer:
            return
        self._step_down()
        if fenced:
            log.warning("registry writer: this instance (%s) was fenced by another", self.url)
            self._fenced_in = self._generation()
            self._spawn(self._recheck_after(self.session_timeout_ms / 1000 + 1.0))
        self._role_changed()

    async def _recheck_after(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        self._fenced_in = None
        self._role_changed()

    # reading

    @property
    def position(self) -> int:
        return 0 if self._tail is None else self._tail.position

    async def wait_position(self, position: int, timeout_s: float) -> None:
        if self._tail is not None:
            await self._tail.wait_for(position, timeout_s)

    async def sync(self, timeout_s: float, *, acknowledged: bool = False) -> None:
        if self._tail is not None:
            await self._tail.sync(timeout_s, acknowledged=acknowledged)

    async def stop(self) -> None:
        if self._election is not None:
            await self._election.stop()
            self._election = None
        for task in [*self._tasks]:
            task.cancel()
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()
        if self._tail is not None:
            await self._tail.stop()
            self._tail = None
