"""What the fault suite reads back: committed records, one run's events, progress, DLQs.

Everything is read with ``read_committed`` up to the end offsets taken when the read
starts, so two reads of a finished run return the same records.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from impact_contracts import ContractViolation, SchemaMismatch
from impact_schemas.catalog import event_for_topic, topic_for
from impact_schemas.codec import AvroCodec
from impact_schemas.registry.errors import RegistryUnavailable

from tests.support.faults import ORCHESTRATOR_INPUTS, SERVICE_INPUTS, FaultRow, record_fault

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


def run_of(key: bytes | None) -> str:
    """The run id of a record key: its part before the first ``:``."""
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
            if run_of(record.key) != run_id:
                continue
            value = await decode(codec, record)
            if value is not None and value.get("run_id") == run_id:
                events.append((event_for_topic(record.topic).name, value, record))
        return cls(run_id, events)

    @classmethod
    async def settled(cls, bootstrap: str, codec: AvroCodec, prefix: str, run_id: str) -> RunEvents:
        """The run's events once every service has consumed its inputs (``wait_consumed``):
        every output of what was read is then committed too."""
        await wait_consumed(bootstrap, prefix, list(SERVICE_INPUTS))
        return await cls.read(bootstrap, codec, prefix, run_id)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [value for event, value, _ in self.events if event == name]

    def record(
        self,
        fault: str,
        what: str,
        times: int,
        stall: float | None,
        seed: int | None = None,
        **extra: Any,
    ) -> tuple[int, int]:
        """Record the fault row of this run (``record_fault``: ``fault`` injected ``times``
        times as ``what`` says, the longest ``stall``, ``extra`` columns) with its delivery;
        the (lost, duplicated) it recorded."""
        lost, duplicated = self.delivery()
        record_fault(FaultRow(fault, what, times, lost, duplicated, stall, seed, extra=extra))
        return lost, duplicated

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
