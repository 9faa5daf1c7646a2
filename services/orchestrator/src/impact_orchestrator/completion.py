"""How a run ends: the ``run_completed`` payload from what the run holds, and the cohort
step that both the allocation and the report are computed from."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from impact_evaluate.cohort import pool_run, value_factors

from impact_orchestrator import commands as cmd
from impact_orchestrator.commands import Command
from impact_orchestrator.report import build_run_completed
from impact_orchestrator.run_state import RunState, RunStatus


def pooled(state: RunState, predict_ids: Collection[str]) -> list[dict[str, Any]]:
    """The cohort step over every evaluation (in the manifest unit, posterior by default);
    a pure function of the run, so the report recomputes what allocate was sent, with the
    prediction intervals of ``predict_ids`` for the scale sample each was measured on."""
    evaluations = [state.evaluations[i].model_dump() for i in sorted(state.evaluations)]
    sizes = {i: scale.sample_size for i, scale in state.scales.items()}
    return pool_run(state.cohort_settings(), evaluations, predict_ids, sizes or None)


def complete(state: RunState, status: RunStatus, reason: str | None) -> list[Command]:
    state.stage, state.status, state.reason = "done", status, reason
    selected, manifest = state.selected, state.manifest
    state.result = build_run_completed(
        status=status,
        budget=manifest.budget if manifest else 0.0,
        n_initiatives=len(manifest.initiatives) if manifest else 0,
        pilots=state.pilots,
        evaluations={e["initiative_id"]: e for e in pooled(state, selected)},
        allocation=state.allocation,
        value_factors=value_factors(state.cohort_settings()),
        unit=manifest.unit if manifest else None,
        scales=state.scales,
        failures=state.failures,
        missing=state.missing,
        reason=reason,
        cached=state.cached,
    )
    n_reports = len(state.result["reports"])
    return [
        cmd.run_completed(state.run_id, state.result),
        cmd.run_status(
            state.run_id, "report", (n_reports, n_reports), status, message=reason or status
        ),
    ]
