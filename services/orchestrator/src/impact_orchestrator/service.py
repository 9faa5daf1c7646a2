"""ORCHESTRATOR service: the run state machine on Kafka.

Consumes ``manifest_submitted``, ``measure_completed``, ``evaluate_completed``,
``allocate_completed``, ``stage_failed`` and ``run_command`` (approve, reject, scale data).
The owner of a run is the input partition ``ownership.owner_partition(run_id)``: an event
read on another partition is forwarded there unchanged (``forwarding``); every event is
checked against its contract (``validation``) before it is applied (``handling``).
Produces the commands (``measure_requested``/``evaluate_requested`` keyed
``run_id:initiative_id``, ``allocate_requested``, ``run_status``, ``run_completed`` keyed
``run_id``) and, in the same transaction, the parts of each run the batch changed on the
compacted changelog (``changelog``). States are rebuilt from the changelog when partitions
are assigned, or when the runtime replays a batch after a failed delivery (``restore``).
Start with ``python -m impact_orchestrator.service``.
"""

from __future__ import annotations

from aiokafka import TopicPartition
from impact_kafka.topics import partition_counts
from impact_runtime import Service, run_service

from impact_orchestrator.handling import INLINE_INTAKE_MAX_INITIATIVES, Orchestrator
from impact_orchestrator.metrics import register_restore_metrics, register_run_metrics
from impact_orchestrator.restore import RESTORE_OUTAGES, ChangelogChanged
from impact_orchestrator.settings import FAN_OUT_TRANSACTION_TIMEOUT_MS, Settings

__all__ = [
    "FAN_OUT_TRANSACTION_TIMEOUT_MS",
    "INLINE_INTAKE_MAX_INITIATIVES",
    "INPUTS",
    "OUTPUTS",
    "RESTORE_OUTAGES",
    "ChangelogChanged",
    "Orchestrator",
    "OrchestratorService",
    "Settings",
    "build_service",
    "main",
    "partition_counts",
]

INPUTS = [
    "manifest_submitted",
    "measure_completed",
    "evaluate_completed",
    "allocate_completed",
    "stage_failed",
    "run_command",
]
OUTPUTS = [
    "measure_requested",
    "evaluate_requested",
    "allocate_requested",
    "run_status",
    "run_completed",
]


class OrchestratorService(Service):
    """The runtime Service running an :class:`Orchestrator`, checked before it consumes."""

    def __init__(self, settings: Settings, orchestrator: Orchestrator) -> None:
        super().__init__(settings, INPUTS, orchestrator.handle)
        self.orchestrator = orchestrator
        self.tick = orchestrator.tick
        self.tick_interval_s = settings.tick_interval_s
        self.state = orchestrator
        self.output_events = tuple(OUTPUTS)
        orchestrator.on_refused = self.stopping.set
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

    async def prepare(self) -> None:
        """Check the input topics and the changelog before connecting."""
        self.orchestrator.bus_topics = self.bus_topics
        await self.orchestrator.prepare(self.input_topics())

    async def assigned(self, partitions: set[TopicPartition]) -> None:
        """Start loading the runs of the assigned partitions (from this service's bus)."""
        self.orchestrator.bus_topics = self.bus_topics
        await self.orchestrator.on_assign(partitions)

    async def start(self) -> None:
        """Prepare (as part of connecting: a broker not up yet is waited for), start
        consuming, then wait for the catalogs (their import started in ``prepare``):
        readyz answers 200 once partitions are assigned, even while they load, and a
        broken stage package still fails the start."""
        await super().start()
        try:
            await self.orchestrator.loaded_catalogs()
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
