"""ORCHESTRATOR service: the run state machine on Kafka.

Consumes ``manifest_submitted``, ``measure_completed``, ``evaluate_completed``,
``allocate_completed`` and ``stage_failed`` (all keyed by ``run_id``, so co-partitioned:
one replica owns a run). Produces the commands (``measure_requested``/``evaluate_requested``
keyed ``run_id:initiative_id``, ``allocate_requested``, ``run_status``, ``run_completed``
keyed ``run_id``) and, in the same transaction, the run's JSON state on the compacted
changelog (key ``run_id``). States are rebuilt from the changelog when partitions are
assigned, or when the runtime replays a batch after a failed delivery.
Start with ``python -m impact_orchestrator.service``.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from impact_runtime import Incoming, Outgoing, Record, Service, ServiceSettings, run_service
from impact_runtime.kafka import client_options, ensure_topics
from impact_runtime.structs import Output
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from impact_orchestrator.archive import archive_completed
from impact_orchestrator.run_state import RunState
from impact_orchestrator.store import Change, RunStore

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


class Settings(ServiceSettings):
    """Environment: ``IMPACT_*`` plus ``KAFKA_BOOTSTRAP_SERVERS``/``SCHEMA_REGISTRY_URL``."""

    model_config = SettingsConfigDict(env_prefix="IMPACT_", frozen=True)

    service_name: str = "orchestrator"
    changelog_topic: str = Field(
        "impact.orchestrator.changelog", description="IMPACT_CHANGELOG_TOPIC (compacted)."
    )
    tick_interval_s: float = Field(1.0, gt=0, description="IMPACT_TICK_INTERVAL_S: deadlines.")


def encode_state(state: RunState) -> bytes:
    """A changelog value: the state's JSON, zlib-compressed (a 1,000-initiative run's JSON
    is about a megabyte, Kafka's default record limit)."""
    return zlib.compress(state.to_json().encode(), 1)


def decode_state(value: bytes) -> RunState:
    return RunState.from_json(zlib.decompress(value))


def _lazy_state(state: RunState) -> Callable[[], bytes]:
    """Serialised only if it is the run's last state in the batch (see ``Record``)."""
    return lambda: encode_state(state)


class Orchestrator:
    """Binds a :class:`RunStore` to the runtime: handler, tick and partition assignment."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = RunStore()
        self._next_offset: dict[tuple[str, int], int] = {}
        self._changelog_ready = False
        #: set once the runs of the assigned partitions are loaded (tests without a broker
        #: set it themselves)
        self.restored = asyncio.Event()

    async def handle(self, msg: Incoming) -> list[Output]:
        await self.restored.wait()  # aiokafka may fetch while on_assign still restores
        if msg.offset < self._next_offset.get((msg.topic, msg.partition), 0):
            await self._rebuild({msg.partition})  # a replayed batch: drop uncommitted state
        self._next_offset[(msg.topic, msg.partition)] = msg.offset + 1
        change = self.store.handle(msg.event, msg.value, msg.partition, time.time())
        return self._outputs([change] if change else [])

    def tick(self, now: float) -> list[Output]:
        return self._outputs(self.store.tick(now))

    async def on_assign(self, assigned: set[TopicPartition]) -> None:
        self.restored.clear()
        try:
            await self._ensure_changelog()
            partitions = {tp.partition for tp in assigned}
            self.store.keep_only(partitions)
            await self._rebuild(partitions)
        finally:
            self.restored.set()

    def _outputs(self, changes: list[Change]) -> list[Output]:
        outputs: list[Output] = []
        for state, commands in changes:
            if any(c.event == "run_completed" for c in commands):
                archive_completed(state)  # rewritten whole if a batch is replayed
            outputs.extend(Outgoing(c.event, c.key, c.payload) for c in commands)
            outputs.append(Record(self.settings.changelog_topic, state.run_id, _lazy_state(state)))
        return outputs

    async def _rebuild(self, partitions: set[int]) -> None:
        """Load the committed states of ``partitions`` from the changelog."""
        topic = self.settings.changelog_topic
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        for key in [k for k in self._next_offset if k[1] in partitions]:
            del self._next_offset[key]
        if not tps:
            return
        consumer = AIOKafkaConsumer(
            **client_options(self.settings),
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await consumer.start()
        try:
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            found: dict[int, dict[str, RunState]] = {p: {} for p in partitions}
            while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
                batch = await consumer.getmany(*tps, timeout_ms=500)
                for tp, messages in batch.items():
                    for message in messages:
                        run_id = message.key.decode() if message.key else ""
                        if message.value is None:
                            found[tp.partition].pop(run_id, None)
                        else:
                            found[tp.partition][run_id] = decode_state(message.value)
        finally:
            await consumer.stop()
        for partition, states in found.items():
            self.store.restore(partition, states)

    async def _ensure_changelog(self) -> None:
        if not self._changelog_ready:
            changelog = {self.settings.changelog_topic}
            await ensure_topics(self.settings, changelog, configs={"cleanup.policy": "compact"})
        self._changelog_ready = True


def build_service(settings: Settings, orchestrator: Orchestrator | None = None) -> Service:
    """The runtime Service running ``orchestrator`` (default: a new one)."""
    orchestrator = orchestrator or Orchestrator(settings)
    return Service(
        settings,
        INPUTS,
        orchestrator.handle,
        on_assign=orchestrator.on_assign,
        tick=orchestrator.tick,
        tick_interval_s=settings.tick_interval_s,
        outputs=OUTPUTS,
    )


def main() -> None:
    run_service(build_service(Settings()))


if __name__ == "__main__":
    main()
