"""Following one run live in the fault suite: its progress, completion and stalls."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from impact_observe.bus import Bus
from impact_orchestrator.manifest import Manifest
from impact_schemas.catalog import event_for_topic, topic_for
from impact_schemas.codec import AvroCodec

from tests.support.fault_runs import Committed, RunEvents, decode, run_of
from tests.support.faults import FaultStack


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
                        if run_of(r.key) == self.run_id:
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


async def run_to_end(
    stack: FaultStack,
    bootstrap: str,
    registry: str,
    manifest: Manifest,
    run_id: str,
    timeout: float,
    *,
    settle: bool = True,
) -> tuple[dict[str, Any], RunEvents, RunWatch]:
    """Publish ``manifest`` as ``run_id`` to ``stack``, follow it to its end (failing as soon
    as a replica exits) and read its events, once every service has consumed its inputs
    when ``settle``. The run, its events and the watch."""
    bus = Bus(bootstrap, registry, stack.prefix)
    try:
        async with RunWatch(bootstrap, bus.codec, stack.prefix, run_id) as watch:
            await bus.publish_manifest(manifest.to_event_payload(), run_id)
            run = await watch.finished(timeout, alive=stack)
        read = RunEvents.settled if settle else RunEvents.read
        events = await read(bootstrap, bus.codec, stack.prefix, run_id)
    finally:
        await bus.close()
    return run, events, watch
