"""The four services as real processes on the test broker (see ``impact_cli.processes``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from impact_cli.processes import SERVICES, ServiceProcesses
from impact_observe.bus import Bus
from impact_orchestrator.manifest import Manifest

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 240.0


def service_stack(
    bootstrap: str, registry_url: str, log_dir: Path, replicas: dict[str, int]
) -> ServiceProcesses:
    """Every service (one replica unless ``replicas`` says more), DEBUG logs, fast ticks."""
    return ServiceProcesses(
        bootstrap,
        registry_url,
        log_dir,
        {name: replicas.get(name, 1) for name in SERVICES},
        data_root=ROOT,
        env={"IMPACT_LOG_LEVEL": "DEBUG", "IMPACT_TICK_INTERVAL_S": "0.2"},
    )


def running(services: ServiceProcesses) -> Iterator[ServiceProcesses]:
    """``services`` started, for a fixture to ``yield from``; stopped after."""
    services.start()
    try:
        yield services
    finally:
        services.stop()


#: Input topics per service (the orchestrator consumes six) and partitions per topic.
INPUT_TOPICS = {"orchestrator": 6, "measure": 1, "evaluate": 1, "allocate": 1}
PARTITIONS = 6


def settled(stack: ServiceProcesses) -> bool:
    """Every replica is alive and owns partitions, and the replicas of each service own
    every partition of its input topics once (raises if a replica died)."""
    if dead := stack.dead():
        raise AssertionError(stack.death_report(dead))
    for service, count in stack.replicas.items():
        owned = [stack.partitions(f"{service}-{i}") for i in range(count)]
        if not all(owned) or sum(owned) != INPUT_TOPICS[service] * PARTITIONS:
            return False
    return True


def module_stack(
    log_name: str, replicas: dict[str, int] | None = None
) -> Callable[..., Iterator[ServiceProcesses]]:
    """A module-scoped ``stack`` fixture: ``service_stack`` started once for the module, its
    logs in a temporary directory named ``log_name``, stopped after the module's tests.

    Use as ``stack = module_stack("dash-logs")`` in a test module."""

    @pytest.fixture(scope="module", name="stack")
    def stack_fixture(
        kafka_bootstrap: str, schema_registry_url: str, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[ServiceProcesses]:
        logs = tmp_path_factory.mktemp(log_name)
        yield from running(
            service_stack(kafka_bootstrap, schema_registry_url, logs, replicas or {})
        )

    return stack_fixture


async def completed(bus: Bus, run_id: str, timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
    """The run's ``run_completed`` payload (AssertionError if none comes in ``timeout_s``)."""
    async for name, value in bus.follow(run_id, ["run_completed"], timeout_s=timeout_s):
        assert name == "run_completed"
        return value
    raise AssertionError(f"run {run_id} did not complete within {timeout_s:.0f} s")


async def run_on_kafka(
    bus: Bus, manifest: Manifest, run_id: str, timeout_s: float = RUN_TIMEOUT_S
) -> dict[str, Any]:
    """Publish ``manifest`` as ``run_id`` and return its ``run_completed`` payload."""
    await bus.publish_manifest(manifest.to_event_payload(), run_id)
    return await completed(bus, run_id, timeout_s)


def outcome(run: dict[str, Any]) -> dict[str, Any]:
    """What must match between Kafka and embedded mode (not ids or timestamps)."""
    return {key: run[key] for key in ("status", "reports", "pilots", "failures", "summary")}
