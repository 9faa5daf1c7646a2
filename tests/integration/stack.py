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
