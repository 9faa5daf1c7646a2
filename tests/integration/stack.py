"""The four services as real processes on the test broker (see ``impact_cli.processes``)."""

from __future__ import annotations

from pathlib import Path

from impact_cli.processes import SERVICES, ServiceProcesses

ROOT = Path(__file__).resolve().parents[2]


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
