"""ORCHESTRATOR service: the run state machine on Kafka.

Consumes ``manifest_submitted``, ``measure_completed``, ``evaluate_completed``,
``allocate_completed`` and ``stage_failed``. The owner of a run is the input partition
``ownership.owner_partition(run_id)``: an event read on another partition (a producer with
another partitioner, key or explicit partition) is forwarded there unchanged; every event
is checked against its contract (``validation``) before it is applied. Produces the
commands (``measure_requested``/``evaluate_requested`` keyed ``run_id:initiative_id``,
``allocate_requested``, ``run_status``, ``run_completed`` keyed ``run_id``) and, in the
same transaction, the parts of each run the batch changed on the compacted changelog
(``changelog``: a header keyed ``run_id`` plus one record per initiative and phase, all on
the owner partition). States are rebuilt from the changelog when partitions are
assigned, or when the runtime replays a batch after a failed delivery.
Start with ``python -m impact_orchestrator.service``.
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
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, UnknownTopicOrPartitionError
from impact_contracts import ConfigError
from impact_runtime import (
    Forward,
    Incoming,
    Outgoing,
    Record,
    Reject,
    Service,
    ServiceSettings,
    run_service,
)
from impact_runtime.kafka import client_options, ensure_topics, read_to_end
from impact_runtime.outage import Stopping
from impact_runtime.pipeline import FORWARDED_FROM
from impact_runtime.structs import Output
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from impact_orchestrator.archive import archive_completed
from impact_orchestrator.changelog import Part, encode_part, record_key, restore_records
from impact_orchestrator.intake import intake
from impact_orchestrator.manifest import Registries, default_registries
from impact_orchestrator.metrics import register_restore_metrics, register_run_metrics
from impact_orchestrator.ownership import (
    changelog_changed,
    misplaced,
    owner_partition,
    ownership_count,
    place,
)
from impact_orchestrator.run_state import RunState
from impact_orchestrator.store import Change, RunStore
from impact_orchestrator.validation import check_run_id

INPUTS = [
    "manifest_submitted",
    "measure_completed",
    "evaluate_completed",
    "allocate_completed",
    "stage_failed",
]
OUTPUTS = [
    "measure_requested",
    "evaluate_requested",
    "allocate_requested",
    "run_status",
    "run_completed",
]
log = structlog.get_logger("impact_orchestrator")
#: A run starts with one transaction of 100,000 commands at most (the manifest limit);
#: the broker refuses a producer asking more than its transaction.max.timeout.ms.
FAN_OUT_TRANSACTION_TIMEOUT_MS = 900_000
#: Results of runs this small are applied on the event loop (no thread hop per event).
INLINE_INTAKE_MAX_INITIATIVES = 10
#: A restore failing with these is waiting for the broker: retried, backing off. Anything
#: else is permanent (decision 0079): logged, counted, the replica not ready.
RESTORE_OUTAGES = (KafkaError, OSError, TimeoutError)


class ChangelogChanged(ConfigError):
    """The changelog's partitioning is not the one its records were written with: it grew
    (or another partitioner wrote it). The orchestrator refuses to run (decision 0079)."""


class Settings(ServiceSettings):
    """Environment: ``IMPACT_*`` plus ``KAFKA_BOOTSTRAP_SERVERS``/``SCHEMA_REGISTRY_URL``."""

    model_config = SettingsConfigDict(env_prefix="IMPACT_", frozen=True)

    service_name: str = "orchestrator"
    changelog_topic: str = Field(
        "impact.orchestrator.changelog", description="IMPACT_CHANGELOG_TOPIC (compacted)."
    )
    tick_interval_s: float = Field(1.0, gt=0, description="IMPACT_TICK_INTERVAL_S: deadlines.")
    transaction_timeout_ms: int = Field(
        FAN_OUT_TRANSACTION_TIMEOUT_MS,
        ge=1000,
        description="IMPACT_TRANSACTION_TIMEOUT_MS: 15 min (the broker's default "
        "transaction.max.timeout.ms): a run's fan-out (one command per initiative) is one "
        "transaction with its manifest and offset (decision 0045).",
    )
    max_poll_interval_ms: int = Field(
        FAN_OUT_TRANSACTION_TIMEOUT_MS,
        ge=1000,
        description="IMPACT_MAX_POLL_INTERVAL_MS: 15 min, as long as a fan-out's transaction "
        "may take; a replica that exceeds it leaves the group and its commit is refused.",
    )


def _lazy_part(state: RunState, part: Part) -> Callable[[], bytes | None]:
    """Encoded only if it is the part's last record in the batch (see ``Record``), from
    the run's state at the end of the batch."""
    return lambda: encode_part(state, part)


class Orchestrator:
    """Binds a :class:`RunStore` to the runtime: handler, tick and partition assignment."""

    def __init__(self, settings: Settings, registries: Registries | None = None) -> None:
        self.settings = settings
        self.store = RunStore()
        #: of every input topic, read from the broker by ``prepare`` (FakeBus: partition 0)
        self.partition_count = 1
        self._registries = registries
        self._loading: asyncio.Future[Registries] | None = None
        self._next_offset: dict[tuple[str, int], int] = {}
        self._changelog_ready = False
        #: set once the runs of the assigned partitions are loaded (tests without a broker
        #: set it themselves)
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

    async def handle(self, msg: Incoming) -> list[Output]:
        await self.restored.wait()  # aiokafka may fetch while on_assign still restores
        if self.refused is not None:  # the batch is left uncommitted; the service stops
            raise Stopping(str(self.refused))
        if msg.offset < self._next_offset.get((msg.topic, msg.partition), 0):
            try:  # a replayed batch: drop uncommitted state
                await self._rebuild({msg.partition})
            except ChangelogChanged as exc:
                self._refuse(exc)
                raise Stopping(str(exc)) from exc
        self._next_offset[(msg.topic, msg.partition)] = msg.offset + 1
        run_id = check_run_id(msg.value)
        forwarded = msg.headers.get(FORWARDED_FROM)
        placement = place(run_id, msg.partition, self.partition_count, forwarded)
        if not placement.here:
            log.info("forwarded_to_owner", run_id=run_id, event_name=msg.event, to=placement.owner)
            return [Reject(placement.problem) if placement.problem else Forward(placement.owner)]
        if self.restore_error is not None:  # kept on the DLQ, never applied to no state
            return [Reject(f"run {run_id} not restored: {self.restore_error}")]
        if run_id in self.quarantined:
            return [Reject(f"run {run_id} not restored: {self.quarantined[run_id][1]}")]
        now, registries = time.time(), await self.loaded_registries()
        args = (self.store, msg.event, msg.value, msg.partition, now, registries)
        if self._small_result(msg.event, run_id, msg.value):
            change, rejected = intake(*args)
        else:  # a manifest, or a large run's fan-out, takes seconds: off the event loop
            change, rejected = await asyncio.to_thread(intake, *args)
        outputs = self._outputs([change] if change else [])
        return [*outputs, Reject(rejected)] if rejected else outputs

    def _small_result(self, event: str, run_id: str, value: dict[str, Any]) -> bool:
        """Whether the intake is cheap enough for the event loop (a thread hop costs more):
        a result of a run of at most ``INLINE_INTAKE_MAX_INITIATIVES`` initiatives, a pilot
        measurement (an evaluate command and a progress event), or a scale measurement or
        evaluation that cannot complete its barrier. A manifest, an allocation (the scale
        fan-out) and the result that completes a barrier (the allocate request or the report,
        each as large as the run) take seconds for a large run: a thread."""
        state = self.store.states.get(run_id)
        if event == "manifest_submitted" or state is None:
            return False
        if len(state.manifest.get("initiatives", ())) <= INLINE_INTAKE_MAX_INITIATIVES:
            return True
        if event == "measure_completed":
            if value.get("phase") == "pilot":
                return True
            barrier = state.scaled
        elif event == "evaluate_completed":
            barrier = state.evaluated
        else:
            return False
        settled, expected = barrier.progress()
        return expected - settled > 1

    @property
    def registries(self) -> Registries:
        """The component registries manifests are checked against (default: installed)."""
        if self._registries is None:
            self._registries = default_registries()
        return self._registries

    async def loaded_registries(self) -> Registries:
        """``registries``, imported in a thread: importing every stage package takes
        seconds, which must not block the event loop (heartbeats, readyz)."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(asyncio.to_thread(lambda: self.registries))
        return await self._loading

    async def prepare(self, inputs: list[str]) -> None:
        """Before consuming: every input topic and the changelog exist; run ownership is
        computed with the changelog's partition count, which the inputs may exceed (they
        grew) but not fall short of; the registries start loading in a thread
        (``OrchestratorService.start`` waits for them after the loop started).

        Raises:
            ConfigError: the inputs differ in partition count while the changelog is to be
                created, or one has fewer partitions than the changelog.
        """
        await ensure_topics(self.settings, set(inputs))
        counts = await _partition_counts(self.settings, inputs)
        changelog = self.settings.changelog_topic
        found = await _partitions_if_exists(self.settings, changelog)
        owners = ownership_count(counts, changelog, found)
        if found is None:
            sized = self.settings.model_copy(update={"topic_partitions": owners})
            await ensure_topics(sized, {changelog}, configs={"cleanup.policy": "compact"})
            found = (await _partition_counts(self.settings, [changelog]))[changelog]
            owners = ownership_count(counts, changelog, found)  # another replica created it
        self.partition_count = owners
        self._changelog_ready = True
        if self._loading is None:  # a retried prepare (broker not up yet) loads them once
            self._loading = asyncio.ensure_future(asyncio.to_thread(lambda: self.registries))

    def tick(self, now: float) -> list[Output]:
        if not self.restored.is_set():  # deadlines of runs still loading wait for them
            return []
        return self._outputs(self.store.tick(now))

    def commit(self) -> None:
        """The runtime delivered what was handled so far (``StateHooks``)."""
        self.store.commit()

    def rollback(self) -> None:
        """The runtime could not deliver it: back to the last delivered states."""
        self.store.rollback()

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
        delay = 0.2
        self.restore_error = None
        while True:
            try:
                started = time.monotonic()
                await self._ensure_changelog()
                self.store.keep_only(partitions)
                # runs of partitions no longer assigned are the new owner's business
                held = self.quarantined.items()
                self.quarantined = {r: q for r, q in held if q[0] in partitions}
                await self._rebuild(partitions)
            except ChangelogChanged as exc:
                self._refuse(exc)
                return
            except RESTORE_OUTAGES as exc:  # the handler keeps waiting
                log.warning("restore_failed", error=repr(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(2 * delay, 5.0)
                continue
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
            return

    def _refuse(self, exc: ChangelogChanged) -> None:
        """The changelog's partitioning changed: not ready, logged, counted, and the
        service asked to stop (what was fetched stays uncommitted: nothing is lost)."""
        self.refused = exc
        self.changed_found += 1
        log.error("changelog_partitioning_changed", error=str(exc))
        self.restored.set()  # handle stops the batch uncommitted
        if self.on_refused is not None:
            self.on_refused()

    def _outputs(self, changes: list[Change]) -> list[Output]:
        outputs: list[Output] = []
        for state, commands in changes:
            if any(c.event == "run_completed" for c in commands):
                archive_completed(state)  # rewritten whole if a batch is replayed
            # every event names its run: a tick's outputs have no cause to copy it from
            run = {"run_id": state.run_id}
            outputs.extend(Outgoing(c.event, c.key, {**run, **c.payload}) for c in commands)
            owner = owner_partition(state.run_id, self.partition_count)
            topic = self.settings.changelog_topic
            outputs.extend(
                Record(topic, record_key(state.run_id, part), _lazy_part(state, part), owner)
                for part in sorted(self.store.take_parts(state.run_id))
            )
        return outputs

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
        async with aclosing(read_to_end(self.settings, tps, timeout_s=timeout_s)) as records:
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
        found = (await _partition_counts(self.settings, [topic]))[topic]
        if found != self.partition_count:
            problem = (
                f"has {found} partitions, this orchestrator started with {self.partition_count}"
            )
            raise ChangelogChanged(changelog_changed(topic, problem))

    async def _ensure_changelog(self) -> None:
        if not self._changelog_ready:
            changelog = {self.settings.changelog_topic}
            await ensure_topics(self.settings, changelog, configs={"cleanup.policy": "compact"})
        self._changelog_ready = True


async def _partition_counts(settings: ServiceSettings, topics: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return partition_counts(described)


async def _partitions_if_exists(settings: ServiceSettings, topic: str) -> int | None:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return None
    finally:
        await admin.close()
    return (await _partition_counts(settings, [topic]))[topic]


def partition_counts(described: list[dict[str, Any]]) -> dict[str, int]:
    """Partitions per topic of a DescribeTopics answer.

    Raises:
        UnknownTopicOrPartitionError: a topic has no metadata yet on the broker asked (on a
            cluster, a topic just created may be known to one broker and not yet another);
            retriable, so the start waits it out instead of seeing 0 partitions.
    """
    unknown = sorted(t["topic"] for t in described if t["error_code"] or not t["partitions"])
    if unknown:
        raise UnknownTopicOrPartitionError(f"no partition metadata yet for {unknown}")
    return {t["topic"]: len(t["partitions"]) for t in described}


class OrchestratorService(Service):
    """The runtime Service running an :class:`Orchestrator`, checked before it consumes."""

    def __init__(self, settings: Settings, orchestrator: Orchestrator) -> None:
        super().__init__(
            settings,
            INPUTS,
            orchestrator.handle,
            on_assign=orchestrator.on_assign,
            prepare=self._prepare,
            tick=orchestrator.tick,
            tick_interval_s=settings.tick_interval_s,
            outputs=OUTPUTS,
            state=orchestrator,
        )
        self.orchestrator = orchestrator
        orchestrator.on_refused = self._stopping.set
        register_run_metrics(self.metrics.registry, lambda: orchestrator.store.states)
        register_restore_metrics(
            self.metrics.registry,
            lambda: orchestrator.corrupt_found,
            lambda: len(orchestrator.quarantined),
            lambda: orchestrator.changed_found,
        )

    def is_ready(self) -> bool:
        """The runtime's readiness, and every assigned run restored (none corrupt)."""
        return super().is_ready() and self.orchestrator.healthy

    async def _prepare(self) -> None:
        await self.orchestrator.prepare(self.input_topics())

    async def start(self) -> None:
        """Prepare (as part of connecting: a broker not up yet is waited for), start
        consuming, then wait for the registries (their import started in ``prepare``):
        readyz answers 200 once partitions are assigned, even while they load, and a
        broken stage package still fails the start."""
        await super().start()
        try:
            await self.orchestrator.loaded_registries()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop; a replica that refused to run (the changelog's partitioning changed)
        raises that refusal once everything is closed (the process exits non-zero)."""
        await super().stop()
        await self.orchestrator.stop_restoring()
        if self.orchestrator.refused is not None:
            raise self.orchestrator.refused


def build_service(settings: Settings, orchestrator: Orchestrator | None = None) -> Service:
    """The runtime Service running ``orchestrator`` (default: a new one)."""
    return OrchestratorService(settings, orchestrator or Orchestrator(settings))


def main() -> None:
    run_service(build_service(Settings()))


if __name__ == "__main__":
    main()
