"""Embedded mode: the orchestrator's state machine and the stage components in one
process, no broker. Same transitions as the Kafka service, so the same report."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from impact_orchestrator.archive import archive_completed
from impact_orchestrator.commands import Command
from impact_orchestrator.executor import ComponentExecutor
from impact_orchestrator.history import Recorder, RunHistory
from impact_orchestrator.manifest import Catalogs, Manifest, default_catalogs, load_manifest
from impact_orchestrator.progress import stage_progress, wanted
from impact_orchestrator.run_state import RunState
from impact_orchestrator.transitions import apply, on_tick
from impact_orchestrator.validation import check_payload
from impact_orchestrator.workers import ComponentPool, EmbeddedStats, ExecutorKind

StatusCallback = Callable[[dict[str, Any]], None]


def run_embedded(
    manifest: Manifest | str | Path | Mapping[str, Any],
    *,
    max_workers: int | None = None,
    run_id: str | None = None,
    catalogs: Catalogs | None = None,
    on_status: StatusCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    executor: ExecutorKind = "auto",
    stats: EmbeddedStats | None = None,
    progress: bool | None = None,
    decisions: Sequence[Mapping[str, Any]] = (),
    history: RunHistory | None = None,
) -> dict[str, Any]:
    """Run a manifest to completion and return the ``run_completed`` payload.

    Arguments:
        manifest: a loaded :class:`Manifest`, the path of a manifest file, or the
            manifest as a mapping (relative paths from the working directory).
        max_workers: threads or processes running components (default: the manifest's
            ``max_workers``).
        run_id: correlation id (default: a new uuid4).
        catalogs: component catalogs (default: the installed stage packages).
        on_status: called with every ``run_status`` payload (progress ``[k/N]``).
        clock: seconds, for the manifest ``deadline``.
        executor: where components run (``impact_orchestrator.workers``): ``thread``,
            ``process`` (worker processes, all cores), or ``auto`` (default): processes
            for a large run with more than one worker and the installed catalogs,
            threads otherwise.
        stats: filled with the run's CPU seconds (components by stage, orchestrator).
        progress: show a progress bar per stage (rich); default: on a terminal or in
            Jupyter when no ``on_status`` is given.
        decisions: what people decide, for a run with ``approval: required`` or scale data
            given later: ``run_command`` payloads (``{"action": "approve", "actor": ...,
            "drop": [...]}``, ``reject``, ``scale``), applied in order, each when the run
            waits for people (docs/orchestrator.md, "Run lifecycle").
        history: record the run's events there (``impact_orchestrator.history``), so
            ``impact report``, ``impact compare`` and the dashboard find it by run id.

    Raises:
        ManifestError: when ``manifest`` is an invalid manifest file or mapping.
        ValueError: an unknown ``executor``, or ``process`` with catalogs that do not
            pickle.
    """
    started = time.thread_time()
    stats = stats if stats is not None else EmbeddedStats()
    own_catalogs = catalogs is None
    catalogs = catalogs or default_catalogs()
    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest, catalogs=catalogs)
    if executor == "auto" and not own_catalogs:
        executor = "thread"  # test doubles and notebook classes stay in this process
    payload = manifest.to_event_payload()
    state, commands = RunState.start(payload, run_id or str(uuid.uuid4()), clock())
    record = Recorder(state.run_id) if history is not None else None
    if record is not None:
        record("manifest_submitted", payload)
    if executor == "auto" and reads_dataframes(manifest):
        executor = "thread"  # the frames live in this process
    pending = list(decisions)
    workers = max_workers or manifest.max_workers
    pool = ComponentPool(ComponentExecutor(catalogs), catalogs, workers, executor, stats)
    show = progress if progress is not None else on_status is None and wanted()
    with stage_progress(show) as bar:
        callbacks = [callback for callback in (on_status, bar) if callback is not None]
        try:

            def dispatch(batch: list[Command]) -> None:
                pool.submit([c for c in batch if c.event.endswith("_requested")])
                for command in batch:
                    if record is not None:
                        record(command.event, command.payload)
                    if command.event == "run_status":
                        for callback in callbacks:
                            callback(command.payload)

            def when_idle(state: RunState) -> tuple[RunState, list[Command]]:
                if not pending:
                    raise RuntimeError(_stalled(state))
                return decide(state, pending.pop(0), catalogs, clock())

            dispatch(commands)
            state = drive(state, pool, dispatch, clock, when_idle=when_idle, on_result=record)
        finally:
            pool.close()
    assert state.result is not None
    archive_completed(state)
    if history is not None and record is not None:
        history.write(state.run_id, record.events)
    stats.orchestrator_cpu_s += time.thread_time() - started
    return state.result


def drive(
    state: RunState,
    pool: ComponentPool,
    dispatch: Callable[[list[Command]], None],
    clock: Callable[[], float],
    *,
    when_idle: Callable[[RunState], tuple[RunState, list[Command]]],
    until: Callable[[RunState], bool] = lambda state: state.done,
    on_result: Callable[[str, dict[str, Any]], None] | None = None,
) -> RunState:
    """Apply the pool's results and the deadline's ticks to ``state`` until ``until(state)``
    (default: the run is done); every step's commands go to ``dispatch``. When nothing
    runs, ``when_idle(state)`` gives the next step (people's decisions) or raises."""
    while not until(state):
        if not pool.busy:
            state, batch = when_idle(state)
            dispatch(batch)
            continue
        at = state.deadline.at
        for _, (event, result) in pool.results(None if at is None else max(0.0, at - clock())):
            if on_result is not None:
                on_result(event, result)
            state, commands = apply(state, event, result, clock())
            dispatch(commands)
        state, commands = on_tick(state, clock())
        dispatch(commands)
    return state


def decide(
    state: RunState, command: Mapping[str, Any], catalogs: Catalogs, now: float
) -> tuple[RunState, list[Command]]:
    """Apply one ``run_command`` payload, checked against its contract as on Kafka.

    Raises:
        ContractViolation: the command breaks its contract (names the key).
    """
    payload: dict[str, Any] = {"note": None, "drop": [], "initiative_id": None}
    payload["measure_config"] = {}
    payload |= dict(command)
    check_payload("run_command", payload, catalogs)
    return apply(state, "run_command", {**payload, "command_id": str(uuid.uuid4())}, now)


def _stalled(state: RunState) -> str:
    """Why a run waits with nothing running, and what to give it."""
    if state.stage == "approval":
        return (
            f"run {state.run_id} awaits approval: give the decision with "
            "decisions=[{'action': 'approve', 'actor': ...}], or set approval: none"
        )
    if state.stage == "scale":
        waiting = ", ".join(state.scaled.missing())
        return (
            f"run {state.run_id} awaits scale data for {waiting}: give it with decisions=["
            "{'action': 'scale', 'actor': ..., 'initiative_id': ..., 'measure_config': ...}]"
        )
    return f"run {state.run_id} stalled in stage {state.stage}"


def reads_dataframes(manifest: Manifest) -> bool:
    """Whether an initiative reads a ``dataframe`` source (held by this process)."""

    def source_type(section: Any) -> Any:
        data = section.get("DATA") if isinstance(section, dict) else None
        source = data.get("SOURCE") if isinstance(data, dict) else None
        return source.get("type") if isinstance(source, dict) else None

    return any(
        "dataframe" in (source_type(config), source_type(config.get("SCALE")))
        for config in (spec.measure_config for spec in manifest.initiatives)
    )
