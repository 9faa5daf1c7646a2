"""Embedded mode: the orchestrator's state machine and the stage components in one
process, no broker. Same transitions as the Kafka service, so the same report."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from impact_orchestrator.archive import archive_completed
from impact_orchestrator.commands import Command
from impact_orchestrator.executor import ComponentExecutor
from impact_orchestrator.manifest import Manifest, Registries, default_registries, load_manifest
from impact_orchestrator.run_state import RunState
from impact_orchestrator.transitions import apply, on_tick
from impact_orchestrator.workers import ComponentPool, EmbeddedStats, ExecutorKind

StatusCallback = Callable[[dict[str, Any]], None]


def run_embedded(
    manifest: Manifest | str | Path,
    *,
    max_workers: int | None = None,
    run_id: str | None = None,
    registries: Registries | None = None,
    on_status: StatusCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    executor: ExecutorKind = "auto",
    stats: EmbeddedStats | None = None,
) -> dict[str, Any]:
    """Run a manifest to completion and return the ``run_completed`` payload.

    Arguments:
        manifest: a loaded :class:`Manifest` or the path of a manifest file.
        max_workers: threads or processes running components (default: the manifest's
            ``max_workers``).
        run_id: correlation id (default: a new uuid4).
        registries: component registries (default: the installed stage packages).
        on_status: called with every ``run_status`` payload (progress ``[k/N]``).
        clock: seconds, for the manifest ``deadline``.
        executor: where components run (``impact_orchestrator.workers``): ``thread``,
            ``process`` (worker processes, all cores), or ``auto`` (default): processes
            for a large run with more than one worker and the installed registries,
            threads otherwise.
        stats: filled with the run's CPU seconds (components by stage, orchestrator).

    Raises:
        ManifestError: when ``manifest`` is a path to an invalid manifest.
        ValueError: an unknown ``executor``, or ``process`` with registries that do not
            pickle.
    """
    started = time.thread_time()
    stats = stats if stats is not None else EmbeddedStats()
    own_registries = registries is None
    registries = registries or default_registries()
    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest, registries=registries)
    if executor == "auto" and not own_registries:
        executor = "thread"  # test doubles and notebook classes stay in this process
    state, commands = RunState.start(
        manifest.to_event_payload(), run_id or str(uuid.uuid4()), clock()
    )
    workers = max_workers or manifest.max_workers
    pool = ComponentPool(ComponentExecutor(registries), registries, workers, executor, stats)
    try:

        def dispatch(batch: list[Command]) -> None:
            pool.submit([command for command in batch if command.event.endswith("_requested")])
            for command in batch:
                if command.event == "run_status" and on_status is not None:
                    on_status(command.payload)

        dispatch(commands)
        while not state.done:
            if not pool.busy:
                raise RuntimeError(f"run {state.run_id} stalled in stage {state.stage}")
            timeout = None if state.deadline.at is None else max(0.0, state.deadline.at - clock())
            for _, (event, payload) in pool.results(timeout):
                state, commands = apply(state, event, payload, clock())
                dispatch(commands)
            state, commands = on_tick(state, clock())
            dispatch(commands)
    finally:
        pool.close()
    assert state.result is not None
    archive_completed(state)
    stats.orchestrator_cpu_s += time.thread_time() - started
    return state.result
