"""What the fault suite reads back: committed records, one run's events, progress, DLQs.

Everything is read with ``read_committed`` up to the end offsets taken when the read
starts, so two reads of a finished run return the same records.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from impact_contracts import ContractViolation, SchemaMismatch
from impact_schemas.catalog import event_for_topic, topic_for
from impact_schemas.codec import AvroCodec
from impact_schemas.registry.errors import RegistryUnavailable

from tests.support.faults import ORCHESTRATOR_INPUTS, SERVICE_INPUTS, FaultStack

WorkKey = tuple[str, str | None, str | None]
RUN_EVENTS = [
    *ORCHESTRATOR_INPUTS,
    "measure_requested",
    "evaluate_requested",
    "allocate_requested",
    "run_status",
    "run_completed",
]


@dataclass(frozen=True)
class Committed:
    """One committed record as read back."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]


async def partitions_of(bootstrap: str, topics: list[str]) -> list[TopicPartition]:
    """Every partition of those ``topics`` that exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics) if topics else []
    finally:
        await admin.close()
    return [
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if t["error_code"] == 0
        for p in sorted(t["partitions"], key=lambda p: p["partition"])
    ]


async def read_committed(
    bootstrap: str, topics: list[str], timeout: float = 60.0
) -> list[Committed]:
    """Every committed record of ``topics`` (those that exist) up to their current ends."""
    partitions = await partitions_of(bootstrap, topics)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[Committed] = []
        deadline = time.monotonic() + timeout
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topics} to their end in {timeout:.0f} s")
            batch = await consumer.getmany(*partitions, timeout_ms=500)
            for tp, records in batch.items():
                found.extend(
                    Committed(
                        tp.topic,
                        tp.partition,
                        r.offset,
                        r.key,
                        r.value,
                        {k: bytes(v) for k, v in r.headers or ()},
                    )
                    for r in records
                    if r.offset < ends[tp]
                )
        return found
    finally:
        await consumer.stop()


async def topics_named(bootstrap: str, prefix: str, suffix: str = "") -> list[str]:
    """Existing topics under ``prefix`` ending with ``suffix``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(
            t for t in await admin.list_topics() if t.startswith(prefix) and t.endswith(suffix)
        )
    finally:
        await admin.close()


async def decode(codec: AvroCodec, record: Committed) -> dict[str, Any] | None:
    """The event in ``record``; None for bytes no consumer could decode (poison). Waits out
    a registry outage instead of failing."""
    if record.value is None:
        return None
    while True:
        try:
            return await codec.decode(record.value, record.topic)
        except (SchemaMismatch, ContractViolation):
            return None
        except RegistryUnavailable:
            await asyncio.sleep(0.5)


def _run_of(key: bytes | None) -> str:
    return (key or b"").decode(errors="replace").split(":", 1)[0]


@dataclass
class RunEvents:
    """The decoded committed events of one run, in topic/partition/offset order."""

    run_id: str
    events: list[tuple[str, dict[str, Any], Committed]]

    @classmethod
    async def read(cls, bootstrap: str, codec: AvroCodec, prefix: str, run_id: str) -> RunEvents:
        topics = [topic_for(name, prefix) for name in RUN_EVENTS]
        events = []
        for record in await read_committed(bootstrap, topics):
            if _run_of(record.key) != run_id:
                continue
            value = await decode(codec, record)
            if value is not None and value.get("run_id") == run_id:
                events.append((event_for_topic(record.topic).name, value, record))
        return cls(run_id, events)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [value for event, value, _ in self.events if event == name]

    def delivery(self) -> tuple[int, int]:
        """(lost, duplicated): commands that never got a result (initiatives a deadline
        dropped excepted) plus a missing ``run_completed``; distinct events (by
        ``event_id``: a copy forwarded to the owning partition is the same event) beyond the
        first of every command, result and ``run_completed``."""
        commands: dict[WorkKey, set[str]] = defaultdict(set)
        results: dict[WorkKey, set[str]] = defaultdict(set)
        completions: set[str] = set()
        for name, value, _ in self.events:
            key = _work_key(name, value)
            if key is not None:
                (commands if name.endswith("_requested") else results)[key].add(value["event_id"])
            elif name == "run_completed":
                completions.add(value["event_id"])
        completed = self.named("run_completed")
        excused = set(completed[0]["summary"].get("missing") or ()) if completed else set()
        lost = sum(1 for key in commands if key not in results and key[1] not in excused)
        lost += 0 if completions else 1
        copies = [*commands.values(), *results.values(), completions]
        return lost, sum(max(len(ids) - 1, 0) for ids in copies)


def _work_key(name: str, value: dict[str, Any]) -> WorkKey | None:
    """What a command asks for / a result answers: (stage, initiative, phase)."""
    stage = name.split("_")[0]
    if name == "stage_failed":
        stage = str(value["stage"])
    if stage not in ("measure", "evaluate", "allocate"):
        return None
    if stage == "allocate":
        return ("allocate", None, None)
    phase = value.get("phase") if stage == "measure" else "pilot"
    return (stage, value.get("initiative_id"), phase or "pilot")


async def dlq_records(bootstrap: str, prefix: str) -> list[Committed]:
    """Every committed record of every ``<prefix>*.dlq`` topic."""
    return await read_committed(bootstrap, await topics_named(bootstrap, prefix, ".dlq"))


async def wait_consumed(
    bootstrap: str,
    prefix: str,
    services: list[str],
    timeout: float = 90.0,
    group_prefix: str | None = None,
) -> None:
    """Wait until each service's group (``<group_prefix><service>``, default the topic
    prefix) has committed past the last committed record of its input topics (taken
    now): every output of those inputs is then committed too."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for service in services:
            topics = [topic_for(e, prefix) for e in SERVICE_INPUTS[service]]
            last: dict[TopicPartition, int] = {}
            for record in await read_committed(bootstrap, topics):
                last[TopicPartition(record.topic, record.partition)] = record.offset + 1
            group = f"{prefix if group_prefix is None else group_prefix}{service}"

            async def caught_up(group: str = group, want: dict[TopicPartition, int] = last) -> bool:
                committed = await admin.list_consumer_group_offsets(group)
                return all(
                    tp in committed and committed[tp].offset >= end for tp, end in want.items()
                )

            deadline = time.monotonic() + timeout
            while not await caught_up():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service} did not consume its inputs in {timeout:.0f} s")
                await asyncio.sleep(0.2)
    finally:
        await admin.close()


@dataclass
class RunWatch:
    """Follows one run's ``run_status`` and ``run_completed`` live (read_committed) and
    times its progress. Survives broker and registry outages (it waits)."""

    bootstrap: str
    codec: AvroCodec
    prefix: str
    run_id: str
    started: float = field(default_factory=time.monotonic)
    points: list[float] = field(default_factory=list)
    progress: dict[str, int] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    completed: list[dict[str, Any]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RunWatch:
        self._task = asyncio.create_task(self._follow())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self) -> None:
        topics = [topic_for(e, self.prefix) for e in ("run_status", "run_completed")]
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            isolation_level="read_committed",
            fetch_max_wait_ms=50,
            metadata_max_age_ms=1000,
        )
        await consumer.start()
        try:
            while True:
                try:
                    batch = await consumer.getmany(timeout_ms=200)
                except KafkaError:
                    await asyncio.sleep(0.5)
                    continue
                for tp, records in batch.items():
                    for r in records:
                        if _run_of(r.key) == self.run_id:
                            record = Committed(tp.topic, tp.partition, r.offset, r.key, r.value, {})
                            self._seen(
                                event_for_topic(tp.topic).name, await decode(self.codec, record)
                            )
        finally:
            await consumer.stop()

    def _seen(self, event: str, value: dict[str, Any] | None) -> None:
        if value is None:
            return
        if event == "run_completed":
            self.completed.append(value)
            self.points.append(time.monotonic())
            return
        self.statuses.append(value)
        stage, done = str(value["stage"]), int(value["completed"])
        if done > self.progress.get(stage, -1) or value["state"] != "running":
            self.progress[stage] = max(done, self.progress.get(stage, 0))
            self.points.append(time.monotonic())

    def units(self) -> int:
        """Results the run has counted so far, over all stages."""
        return sum(self.progress.get(s, 0) for s in ("measure", "evaluate", "allocate", "scale"))

    async def until(self, condition: Callable[[RunWatch], bool], timeout: float, what: str) -> None:
        """Wait until ``condition(self)`` holds; TimeoutError naming ``what`` otherwise."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"run {self.run_id}: {what} not seen within {timeout:.0f} s "
                    f"(progress {self.progress}, {len(self.completed)} run_completed)"
                )
            await asyncio.sleep(0.1)

    async def finished(self, timeout: float, alive: FaultStack | None = None) -> dict[str, Any]:
        """The first ``run_completed`` of the run; with ``alive``, fail as soon as one of
        that stack's replicas has exited (a crash is not waited out)."""

        def done(watch: RunWatch) -> bool:
            if alive is not None and (dead := alive.dead()):
                raise AssertionError(f"replicas exited: {dead}; logs in {alive.log_dir}")
            return bool(watch.completed)

        await self.until(done, timeout, "run_completed")
        return self.completed[0]

    def longest_stall(self, after: float | None = None, before: float | None = None) -> float:
        """Longest time without progress among the gaps that overlap ``[after, before]``."""
        times = [self.started, *self.points]
        if not self.completed:
            times.append(time.monotonic())
        lo, hi = (
            after if after is not None else -1.0,
            before if before is not None else float("inf"),
        )
        gaps = [b - a for a, b in pairwise(times) if b >= lo and a <= hi]
        return round(max(gaps, default=0.0), 1)
