"""Loading a replica's runs from the compacted changelog (``changelog``) when partitions
are assigned, or when the runtime replays a batch after a failed delivery.

The changelog is read through the service's ``bus_topics`` (``impact_runtime.transport.Topics``:
Kafka, or FakeBus's records). The broker away is waited out; any other failure is permanent
(decision 0079). A changelog whose partitioning changed makes the replica refuse to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import structlog
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from impact_contracts import ConfigError
from impact_runtime.transport import KafkaTopics, Topics
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_exponential,
)

from impact_orchestrator.changelog_restore import restore_records
from impact_orchestrator.ownership import changelog_changed, misplaced
from impact_orchestrator.settings import Settings
from impact_orchestrator.store import RunStore

log = structlog.get_logger("impact_orchestrator")
#: A restore failing with these is waiting for the broker: retried, backing off. Anything
#: else is permanent (decision 0079): logged, counted, the replica not ready.
RESTORE_OUTAGES = (KafkaError, OSError, TimeoutError)


def _log_outage(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    delay = state.next_action.sleep if state.next_action else None
    log.warning("restore_failed", error=repr(error), retry_in_s=delay)


#: The handler keeps waiting while the broker is away: 0.2 s doubling to 5 s, no limit.
RESTORE_BACKOFF: dict[str, Any] = {
    "wait": wait_exponential(multiplier=0.2, max=5.0),
    "retry": retry_if_exception_type(RESTORE_OUTAGES),
    "before_sleep": _log_outage,
    "reraise": True,
}


class ChangelogChanged(ConfigError):
    """The changelog's partitioning is not the one its records were written with: it grew
    (or another partitioner wrote it). The orchestrator refuses to run (decision 0079)."""


class ChangelogRestore:
    """The restore half of the orchestrator: which runs of the assigned partitions are
    loaded, quarantined or refused. Mixed into ``Orchestrator``, which owns ``store``."""

    settings: Settings
    store: RunStore
    partition_count: int
    _next_offset: dict[tuple[str, int], int]

    def _init_restore(self) -> None:
        self._changelog_ready = False
        #: the bus's topics the changelog is read from (``OrchestratorService`` passes the
        #: service's own: Kafka's, or a FakeBus's)
        self.bus_topics: Topics = KafkaTopics(self.settings)
        #: set once the runs of the assigned partitions are loaded
        self.restored = asyncio.Event()
        self._restoring: asyncio.Task[None] | None = None
        #: runs of the assigned partitions whose changelog is corrupt: run id → (partition,
        #: reason); their events are dead-lettered and the replica is not ready
        self.quarantined: dict[str, tuple[int, str]] = {}
        #: a restore that failed for good (not an outage): the replica is not ready
        self.restore_error: str | None = None
        #: corrupt runs found by every restore so far (``impact_changelog_corrupt_runs_total``)
        self.corrupt_found = 0
        #: why this replica refuses to run: the changelog's partitioning changed (0079)
        self.refused: ChangelogChanged | None = None
        #: restores that found it changed (``impact_changelog_partitioning_changed_total``)
        self.changed_found = 0
        #: asks the service to stop (set by ``OrchestratorService``)
        self.on_refused: Callable[[], None] | None = None

    async def on_assign(self, assigned: set[TopicPartition]) -> None:
        """Start loading the runs of the ``assigned`` partitions; ``handle`` and ``tick``
        wait for it. The load runs after the rebalance callback returns: aiokafka sends no
        heartbeat during the callback, so a restore longer than the session timeout (a
        100,000-initiative run under load) got the replica expelled, and its next join
        restored again, for ever."""
        await self.stop_restoring()
        self.restored.clear()
        # partitions past the changelog's (inputs grew) own no run: they only forward
        partitions = {tp.partition for tp in assigned if tp.partition < self.partition_count}
        self._restoring = asyncio.create_task(self._restore(partitions))

    async def stop_restoring(self) -> None:
        """Cancel a restore still running (a new assignment, or the service stopping)."""
        if self._restoring is not None and not self._restoring.done():
            self._restoring.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._restoring
        self._restoring = None

    @property
    def healthy(self) -> bool:
        """No restore failed for good, no corrupt run is held and the changelog's
        partitioning is unchanged (part of readyz)."""
        return self.restore_error is None and not self.quarantined and self.refused is None

    async def _restore(self, partitions: set[int]) -> None:
        """Load ``partitions``' runs. The broker away is waited out (retried, backing off);
        any other failure is permanent: logged once, the replica not ready, no retry. A
        corrupt run is left out (``quarantined``) and the other runs are restored."""
        self.restore_error = None
        started = time.monotonic()
        try:
            await AsyncRetrying(**RESTORE_BACKOFF)(self._load, partitions)
        except ChangelogChanged as exc:
            self._refuse(exc)
            return
        except Exception as exc:
            self.restore_error = f"restore failed: {exc!r}"
            self.corrupt_found += 1
            log.exception("restore_failed_permanently", partitions=sorted(partitions))
            self.restored.set()  # what it holds is dead-lettered, not applied
            return
        log.info(
            "runs_restored",
            partitions=sorted(partitions),
            runs=len(self.store.states),
            seconds=round(time.monotonic() - started, 2),
        )
        self.restored.set()

    async def _load(self, partitions: set[int]) -> None:
        """One attempt of ``_restore``."""
        await self._ensure_changelog()
        self.store.keep_only(partitions)
        # runs of partitions no longer assigned are the new owner's business
        held = self.quarantined.items()
        self.quarantined = {r: q for r, q in held if q[0] in partitions}
        await self._rebuild(partitions)

    def _refuse(self, exc: ChangelogChanged) -> None:
        """The changelog's partitioning changed: not ready, logged, counted, and the
        service asked to stop (what was fetched stays uncommitted: nothing is lost)."""
        self.refused = exc
        self.changed_found += 1
        log.error("changelog_partitioning_changed", error=str(exc))
        self.restored.set()  # handle stops the batch uncommitted
        if self.on_refused is not None:
            self.on_refused()

    async def _rebuild(self, partitions: set[int]) -> None:
        """Load the committed states of ``partitions`` from the changelog (read to its end)."""
        topic = self.settings.changelog_topic
        partitions = {p for p in partitions if p < self.partition_count}
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        for key in [k for k in self._next_offset if k[1] in partitions]:
            del self._next_offset[key]
        await self._check_changelog_count()  # a replica that only forwards checks too
        if not tps:
            return
        for run_id in [r for r, (p, _) in self.quarantined.items() if p in partitions]:
            del self.quarantined[run_id]
        found: dict[int, dict[bytes, bytes]] = {p: {} for p in partitions}
        timeout_s = self.settings.read_to_end_timeout_s
        async with aclosing(self.bus_topics.read(tps, timeout_s=timeout_s)) as records:
            async for message in records:
                record_id = message.key or b""
                if message.value is None:
                    found[message.partition].pop(record_id, None)
                else:
                    found[message.partition][record_id] = message.value
        keys = [(p, key) for p, values in found.items() for key in values]
        if wrong := await asyncio.to_thread(misplaced, keys, self.partition_count):
            run_id, stored, owner = wrong
            problem = (
                f"holds run {run_id!r} on partition {stored}, but murmur2 puts it on "
                f"partition {owner} of {self.partition_count}"
            )
            raise ChangelogChanged(changelog_changed(topic, problem))
        for partition, values in found.items():
            restored = await asyncio.to_thread(restore_records, values.items())
            self.store.restore(partition, restored.states, restored.whole)
            for run_id, reason in restored.corrupt.items():
                self.quarantined[run_id] = (partition, f"corrupt changelog: {reason}")
                self.corrupt_found += 1
                log.error("changelog_corrupt", run_id=run_id, partition=partition, reason=reason)

    async def _check_changelog_count(self) -> None:
        """The changelog still has the partition count ownership was computed with at the
        start (it was not grown while this replica ran).

        Raises:
            ChangelogChanged: it has another count.
        """
        topic = self.settings.changelog_topic
        found = (await self.bus_topics.partitions([topic]))[topic]
        if found != self.partition_count:
            problem = (
                f"has {found} partitions, this orchestrator started with {self.partition_count}"
            )
            raise ChangelogChanged(changelog_changed(topic, problem))

    async def _ensure_changelog(self) -> None:
        if not self._changelog_ready:
            changelog = {self.settings.changelog_topic}
            await self.bus_topics.ensure(changelog, compacted=True)
        self._changelog_ready = True
