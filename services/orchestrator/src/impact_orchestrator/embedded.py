"""Embedded mode: the orchestrator's state machine and the stage components in one
process, no broker. Same transitions as the Kafka service, so the same report."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from impact_orchestrator.archive import archive_completed
from impact_orchestrator.commands import Command
from impact_orchestrator.executor import ComponentExecutor, Event
from impact_orchestrator.manifest import Manifest, Registries, default_registries, load_manifest
from impact_orchestrator.run_state import RunState
from impact_orchestrator.transitions import apply, on_tick

StatusCallback = Callable[[dict[str, Any]], None]


def run_embedded(
    manifest: Manifest | str | Path,
    *,
    max_workers: int | None = None,
    run_id: str | None = None,
    registries: Registries | None = None,
    on_status: StatusCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Run a manifest to completion and return the ``run_completed`` payload.

    Arguments:
        manifest: a loaded :class:`Manifest` or the path of a manifest file.
        max_workers: threads running components (default: the manifest's ``max_workers``).
        run_id: correlation id (default: a new uuid4).
        registries: component registries (default: the installed stage packages).
        on_status: called with every ``run_status`` payload (progress ``[k/N]``).
        clock: seconds, for the manifest ``deadline``.

    Raises:
        ManifestError: when ``manifest`` is a path to an invalid manifest.
    """
    registries = registries or default_registries()
    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest, registries=registries)
    execute = ComponentExecutor(registries)
    state, commands = RunState.start(
        manifest.to_event_payload(), run_id or str(uuid.uuid4()), clock()
    )
    pending: set[Future[Event]] = set()
    pool = ThreadPoolExecutor(max_workers or manifest.max_workers)
    try:

        def dispatch(batch: list[Command]) -> None:
            for command in batch:
                if command.event.endswith("_requested"):
                    pending.add(pool.submit(execute, command))
                elif command.event == "run_status" and on_status is not None:
                    on_status(command.payload)

        dispatch(commands)
        while not state.done:
            if not pending:
                raise RuntimeError(f"run {state.run_id} stalled in stage {state.stage}")
            timeout = None if state.deadline.at is None else max(0.0, state.deadline.at - clock())
            finished, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=_order):
                pending.discard(future)
                event, payload = future.result()
                state, commands = apply(state, event, payload, clock())
                dispatch(commands)
            state, commands = on_tick(state, clock())
            dispatch(commands)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    assert state.result is not None
    archive_completed(state)
    return state.result


def _order(future: Future[Event]) -> str:
    """Apply simultaneous results in a stable order."""
    event, payload = future.result()
    return f"{event}:{payload.get('initiative_id') or ''}"
