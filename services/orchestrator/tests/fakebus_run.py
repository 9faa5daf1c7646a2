"""The orchestrator's service on FakeBus, and a run driven through it with the components
executed in process (the stage services' part)."""

from __future__ import annotations

from collections.abc import Callable

from impact_orchestrator.commands import Command
from impact_orchestrator.executor import ComponentExecutor
from impact_orchestrator.manifest import Catalogs, Manifest
from impact_orchestrator.service import Orchestrator, Settings, build_service
from impact_runtime import FakeBus, JsonCodec, Produced
from impact_runtime.fake import FakeTopics


async def orchestrator_bus(topics: FakeTopics | None = None) -> tuple[FakeBus, Orchestrator]:
    """The service with JSON on the wire, assigned partition 0 once its runs are restored
    from the changelog in ``topics`` (default: a new bus, nothing to restore)."""
    settings = Settings(bootstrap_servers="127.0.0.1:9", processing_guarantee="at_least_once")
    orchestrator = Orchestrator(settings)
    service = build_service(settings, orchestrator)
    service.codec = JsonCodec()
    bus = FakeBus(service, topics=topics)
    await bus.assign()
    await orchestrator.restored.wait()
    return bus, orchestrator


async def drive(
    bus: FakeBus,
    manifest: Manifest,
    catalogs: Catalogs,
    run_id: str = "r9",
    before_each: Callable[[], None] = lambda: None,
) -> None:
    """Publish the manifest and answer every ``*_requested`` command until none is left;
    ``before_each`` runs before each command is executed."""
    payload = {"run_id": run_id, **manifest.to_event_payload()}
    queue = await bus.publish("manifest_submitted", payload)
    await answer(bus, queue, catalogs, run_id, before_each)


async def answer(
    bus: FakeBus,
    queue: list[Produced],
    catalogs: Catalogs,
    run_id: str,
    before_each: Callable[[], None] = lambda: None,
) -> None:
    """Answer the ``*_requested`` commands in ``queue`` and every one they lead to."""
    execute = ComponentExecutor(catalogs)
    while queue:
        produced, queue = queue[0], queue[1:]
        if produced.event and produced.event.endswith("_requested"):
            before_each()
            command = {k: v for k, v in produced.value.items() if k != "run_id"}
            event, result = execute(Command(produced.event, produced.key or "", command))
            queue += await bus.publish(event, {"run_id": run_id, **result})
