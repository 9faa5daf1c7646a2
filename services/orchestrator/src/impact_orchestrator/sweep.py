"""Value against budget: measure and evaluate a manifest once, then allocate per budget.

The pilots are measured and evaluated by the embedded state machine exactly as in a run
(the measure result cache answers what an earlier run measured), up to the allocation
request; that request is then sent to the allocate component once per budget. Nothing
is measured per budget and no scale phase runs: each point is the decision a run at that
budget would make, with its predicted value (the report's ``total_predicted_return``)
and the 95 % interval of that predicted value (posterior, without the sampling noise of a
scale measurement: a run's report interval, of the measured scale result, adds that noise
and depends on the sample the scale measurement draws, so it is wider).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from impact_evaluate.cohort import pool_run, portfolio_interval

from impact_orchestrator.commands import Command
from impact_orchestrator.embedded import drive
from impact_orchestrator.executor import ComponentExecutor
from impact_orchestrator.manifest import Catalogs, Manifest, default_catalogs, load_manifest
from impact_orchestrator.progress import stage_progress, wanted
from impact_orchestrator.run_state import RunState
from impact_orchestrator.workers import ComponentPool, EmbeddedStats, ExecutorKind

#: A scale sample size so large that its sampling error vanishes next to the posterior's.
NO_SAMPLING_NOISE = 10**15


@dataclass(frozen=True)
class SweepPoint:
    """The allocation at one budget."""

    budget: float
    selected: list[str]
    allocated: float
    predicted: float
    predicted_lower: float | None
    predicted_upper: float | None
    solver_status: str | None = None
    failure: str | None = None


@dataclass(frozen=True)
class Sweep:
    """A manifest's points, with the initiatives measured once for all of them."""

    points: list[SweepPoint]
    n_evaluated: int
    failures: list[dict[str, Any]]
    cached: list[str]
    name: str | None = None
    unit: str | None = None


def sweep_budgets(
    manifest: Manifest | str | Path | Mapping[str, Any],
    budgets: Iterable[float],
    *,
    max_workers: int | None = None,
    catalogs: Catalogs | None = None,
    executor: ExecutorKind = "auto",
    clock: Callable[[], float] = time.monotonic,
    progress: bool | None = None,
) -> Sweep:
    """Measure and evaluate ``manifest`` once, then allocate at each of ``budgets``.

    Raises:
        ManifestError: an invalid manifest.
        RuntimeError: the run fails before allocation (every initiative failed, the
            deadline with policy ``fail``): the reason, as the run's report would give it.
    """
    own = catalogs is None
    catalogs = catalogs or default_catalogs()
    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest, catalogs=catalogs)
    state, request = _evaluated(
        manifest,
        catalogs,
        max_workers or manifest.max_workers,
        executor if own else "thread",
        clock,
        progress if progress is not None else wanted(),
    )
    execute = ComponentExecutor(catalogs)
    points = [_allocate(state, request, float(budget), execute) for budget in budgets]
    return Sweep(
        points=points,
        n_evaluated=len(state.evaluations),
        failures=[f.model_dump() for f in state.failures],
        cached=sorted(state.cached),
        name=manifest.name,
        unit=manifest.unit,
    )


def _evaluated(
    manifest: Manifest,
    catalogs: Catalogs,
    workers: int,
    executor: ExecutorKind,
    clock: Callable[[], float],
    show: bool,
) -> tuple[RunState, Command]:
    """Drive a run to its allocation request: the state and the request."""
    state, commands = RunState.start(manifest.to_event_payload(), f"sweep-{uuid.uuid4()}", clock())
    pool = ComponentPool(ComponentExecutor(catalogs), catalogs, workers, executor, EmbeddedStats())
    found: list[Command] = []
    with stage_progress(show) as bar:

        def dispatch(batch: list[Command]) -> None:
            found.extend(c for c in batch if c.event == "allocate_requested")
            pool.submit(
                [c for c in batch if c.event in ("measure_requested", "evaluate_requested")]
            )
            for command in batch:
                if bar is not None and command.event == "run_status" and not found:
                    bar(command.payload)

        def stalled(state: RunState) -> tuple[RunState, list[Command]]:
            raise RuntimeError(f"the sweep stalled in stage {state.stage}")

        try:
            dispatch(commands)
            state = drive(
                state,
                pool,
                dispatch,
                clock,
                when_idle=stalled,
                until=lambda s: bool(found) or s.done,
            )
        finally:
            pool.close()
    if not found:
        reason = state.reason or "the run ended before allocation"
        raise RuntimeError(f"no allocation to sweep: {reason}")
    return state, found[0]


def _allocate(
    state: RunState, request: Command, budget: float, execute: ComponentExecutor
) -> SweepPoint:
    """The allocate component's answer at ``budget``, valued as the run's report values it."""
    event, payload = execute(
        Command(request.event, request.key, {**request.payload, "budget": budget})
    )
    if event != "allocate_completed":
        return SweepPoint(budget, [], 0.0, 0.0, None, None, failure=str(payload.get("reason")))
    result = payload["result"]
    selected = sorted(result["selected_initiatives"])
    evaluations = [state.evaluations[i].model_dump() for i in sorted(state.evaluations)]
    # as the report pools them, but with no scale sampling noise (nothing is measured at
    # scale): the interval is that of the predicted value itself
    exact = dict.fromkeys(state.evaluations, NO_SAMPLING_NOISE)
    pooled = {
        e["initiative_id"]: e
        for e in pool_run(state.cohort_settings(), evaluations, selected, exact)
    }
    chosen = [pooled[i] for i in selected]
    total, lower, upper = portfolio_interval(chosen)
    posterior = any(e.get("estimates") == "posterior" for e in pooled.values())
    with_interval = posterior and bool(chosen)
    allocated = result["budget_allocated"]
    return SweepPoint(
        budget=budget,
        selected=selected,
        allocated=sum(allocated[k] for k in sorted(allocated)),
        predicted=total,
        predicted_lower=lower if with_interval else None,
        predicted_upper=upper if with_interval else None,
        solver_status=result.get("solver_status"),
    )
