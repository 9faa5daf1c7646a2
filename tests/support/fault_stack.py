"""``fault_stack``: the module-scoped ``stack`` fixture of a fault-suite test module."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.faults import FaultStack, start_stack


def fault_stack(
    log_name: str,
    replicas: dict[str, int],
    *,
    env: dict[str, str] | None = None,
    partitions: int = 6,
) -> Callable[..., Iterator[FaultStack]]:
    """A module-scoped ``stack`` fixture: ``start_stack`` on the session's broker and
    registry, logs in a temporary directory named ``log_name``, stopped after the module.

    Use as ``stack = fault_stack("pause", {"measure": 2}, env=PACING)`` in a test module."""

    @pytest.fixture(scope="module", name="stack")
    def stack_fixture(
        kafka_bootstrap: str, schema_registry_url: str, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[FaultStack]:
        logs = tmp_path_factory.mktemp(log_name)
        services = start_stack(
            kafka_bootstrap, schema_registry_url, logs, replicas, env=env, partitions=partitions
        )
        yield services
        services.stop()

    return stack_fixture
