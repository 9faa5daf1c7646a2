"""The run state machine: ``apply`` an incoming result, ``on_tick`` for the deadline.

Both change the run in place, in time independent of the run's size (but for the stage
barriers, which happen once), and return it with the commands to publish, so the Kafka
service and the embedded runner drive exactly the same logic. To undo a change (an
undelivered batch, a transition that raised), take ``state.mark()`` before it and
``state.restore(mark)`` after (``store.RunStore`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from impact_contracts import ContractViolation
from impact_contracts.models import AllocateResult, EvaluateResult, MeasureResult

from impact_orchestrator import commands as cmd
from impact_orchestrator.barrier import Barrier
from impact_orchestrator.commands import Command
from impact_orchestrator.completion import complete as _complete
from impact_orchestrator.completion import pooled as _pooled
from impact_orchestrator.deadline import DEADLINE_REASON
from impact_orchestrator.dedup import failure_stage, result_key
from impact_orchestrator.lifecycle import (
    after_allocation,
    flag_unscalable,
    on_command,
    on_due,
    stage_name,
    stale_allocation,
)
from impact_orchestrator.run_state import RunState
from impact_orchestrator.validation import as_failure

INCOMING_EVENTS = (
    "measure_completed",
    "evaluate_completed",
    "allocate_completed",
    "stage_failed",
    "run_command",
)


def apply(
    state: RunState, event: str, payload: dict[str, Any], now: float
) -> tuple[RunState, list[Command]]:
    """Apply one incoming result; duplicates and late results change nothing but a counter."""
    if event == "run_command":  # a late one is refused with the reason, not dropped
        if not state.seen.first_time(f"command:{payload['command_id']}"):
            return state, []
        return state, on_command(state, payload, now)
    if state.done:
        state.seen.count("late")
        return state, []
    if stale_allocation(state, event, payload):
        state.seen.count("late")
        return state, []
    key = result_key(event, payload)
    if event in ("allocate_completed", "stage_failed") and state.verdict == "amended":
        key += ":amended"  # the allocation of the amendment is a second one
    if not state.seen.first_time(key):
        return state, []
    return state, _HANDLERS[event](state, payload, now)


def on_tick(state: RunState, now: float) -> tuple[RunState, list[Command]]:
    """Enforce the deadlines: a phase waiting for people ends by the run's policy (see
    ``lifecycle``); stragglers are dropped, then the run fails or proceeds without them."""
    if (ended := on_due(state, now)) is not None:
        return state, ended
    if state.done or not state.deadline.expired(now):
        return state, []
    stragglers = _drop_stragglers(state)
    message = f"{DEADLINE_REASON}; missing: {', '.join(stragglers) or 'none'}"
    stage, progress = _current_progress(state)
    commands = [cmd.run_status(state.run_id, stage, progress, message=message)]
    if state.deadline.policy == "fail" or state.stage == "allocate":
        return state, commands + _complete(state, "failed", message)
    state.reason = f"{DEADLINE_REASON}; proceeded without: {', '.join(stragglers)}"
    state.deadline.rearm(now)
    return state, commands + _maybe_allocate(state) + _maybe_complete(state)


def reject_manifest(run_id: str, reason: str, now: float) -> tuple[RunState, list[Command]]:
    """A run whose manifest broke its contract: it ends at once, ``failed``, with the reason
    (nothing is requested)."""
    state = RunState(run_id=run_id, manifest=None, started_at=now)
    return state, _complete(state, "failed", reason)


def reject_input(
    state: RunState, event: str, payload: dict[str, Any], reason: str, now: float
) -> tuple[RunState, list[Command]]:
    """An input of a live run broke its contract: it counts as the failure of what it
    reports on (its initiative; allocate fails the run); one that names no initiative or
    stage fails the run, which could otherwise wait for it forever."""
    if event == "run_command":  # a person's bad command never ends the run
        state.seen.count("refused_command")
        message = f"command refused: {reason}"
        return state, [cmd.run_status(state.run_id, stage_name(state), (0, 1), message=message)]
    failure = as_failure(event, payload, reason)
    if failure is not None:
        return apply(state, "stage_failed", failure, now)
    if state.done:
        state.seen.count("late")
        return state, []
    return state, _complete(state, "failed", reason)


def _on_measure(state: RunState, payload: dict[str, Any], now: float) -> list[Command]:
    initiative_id, result = payload["initiative_id"], payload["result"]
    if payload["phase"] == "scale":
        if not _accepts(state, "scale", state.scaled, initiative_id):
            return []
        state.scales[initiative_id] = MeasureResult.model_validate(result)
        state.scaled.settle(initiative_id)
        _note_cached(state, payload)
        return [_progress(state, "scale", state.scaled), *_maybe_complete(state)]
    if not _accepts(state, "pilot", state.measured, initiative_id):
        return []
    state.pilots[initiative_id] = MeasureResult.model_validate(result)
    state.measured.settle(initiative_id)
    _note_cached(state, payload)
    spec = state.spec(initiative_id)
    return [
        cmd.evaluate_requested(state.run_id, state.plan, spec, result),
        _progress(state, "measure", state.measured),
    ]


def _note_cached(state: RunState, payload: dict[str, Any]) -> None:
    if payload.get("cached"):
        state.cached.append(f"{payload['initiative_id']}:{payload['phase']}")


def _on_evaluate(state: RunState, payload: dict[str, Any], now: float) -> list[Command]:
    initiative_id = payload["initiative_id"]
    if initiative_id not in state.pilots or not _accepts(
        state, "pilot", state.evaluated, initiative_id
    ):
        return []
    state.evaluations[initiative_id] = EvaluateResult.model_validate(payload["result"])
    state.evaluated.settle(initiative_id)
    return [_progress(state, "evaluate", state.evaluated), *_maybe_allocate(state)]


def _on_allocate(state: RunState, payload: dict[str, Any], now: float) -> list[Command]:
    if state.stage != "allocate":
        state.seen.count("unexpected")
        return []
    result = payload["result"]
    selected = sorted(result["selected_initiatives"])
    unknown = [i for i in selected if i not in state.evaluations]
    if unknown:
        raise ContractViolation(f"allocate_completed: selected unknown initiatives {unknown}")
    state.allocation = AllocateResult.model_validate(result)
    commands = [cmd.run_status(state.run_id, "allocate", (1, 1))]
    if not selected:
        reason = result.get("reason") or "the allocation selected no initiative"
        return commands + _complete(state, "completed", reason)
    return commands + after_allocation(state, now)


def _on_failure(state: RunState, payload: dict[str, Any], now: float) -> list[Command]:
    stage, reason = failure_stage(payload), str(payload["reason"])
    initiative_id = payload.get("initiative_id")
    if stage == "allocate" or initiative_id is None:
        if state.stage != "allocate":
            state.seen.count("unexpected")
            return []
        for evaluated in sorted(state.evaluations):
            state.record_failure(evaluated, "allocate", reason)
        return _complete(state, "failed", f"allocate failed: {reason}")
    if stage == "scale":
        if not _accepts(state, "scale", state.scaled, initiative_id):
            return []
        state.record_failure(initiative_id, "scale", reason)
        state.scaled.settle(initiative_id)
        return [_progress(state, "scale", state.scaled), *_maybe_complete(state)]
    barrier = state.measured if stage == "measure" else state.evaluated
    if not _accepts(state, "pilot", barrier, initiative_id):
        return []
    state.record_failure(initiative_id, stage, reason)
    state.measured.settle(initiative_id)
    state.evaluated.settle(initiative_id)
    return [_progress(state, stage, barrier), *_maybe_allocate(state)]


_HANDLERS: dict[str, Callable[[RunState, dict[str, Any], float], list[Command]]] = {
    "measure_completed": _on_measure,
    "evaluate_completed": _on_evaluate,
    "allocate_completed": _on_allocate,
    "stage_failed": _on_failure,
}


def _accepts(state: RunState, stage: str, barrier: Barrier, initiative_id: str) -> bool:
    """Whether the run, in its current stage, still waits for this initiative here."""
    if state.stage == stage and barrier.waits_for(initiative_id):
        return True
    state.seen.count("late" if barrier.expects(initiative_id) else "unexpected")
    return False


def _maybe_allocate(state: RunState) -> list[Command]:
    """Pilot barrier: once every initiative is evaluated or dropped, allocate once."""
    if state.stage != "pilot" or not state.evaluated.complete:
        return []
    if not state.evaluations:
        return _complete(state, "failed", "no initiative was evaluated")
    flagged = flag_unscalable(state)
    evaluations = [e for e in _pooled(state, ()) if e["initiative_id"] not in flagged]
    if not evaluations:  # nothing to allocate: the pilots are the report
        reason = "nothing allocated: no evaluated initiative can be measured at scale"
        return _complete(state, "completed", reason)
    state.stage = "allocate"
    return [
        cmd.allocate_requested(state.run_id, state.plan, evaluations),
        cmd.run_status(state.run_id, "allocate", (0, 1)),
    ]


def _maybe_complete(state: RunState) -> list[Command]:
    """Scale barrier: once every selected initiative is measured or dropped, report."""
    if state.stage != "scale" or not state.scaled.complete:
        return []
    return _complete(state, "completed", state.reason)


def _drop_stragglers(state: RunState) -> list[str]:
    """Record every initiative the current stage still waits for as missing."""
    if state.stage == "pilot":
        stragglers = state.evaluated.missing()
        for initiative_id in stragglers:
            stage = "evaluate" if initiative_id in state.pilots else "measure"
            state.record_failure(initiative_id, stage, DEADLINE_REASON)
            state.measured.settle(initiative_id)
            state.evaluated.settle(initiative_id)
    elif state.stage == "scale":
        stragglers = state.scaled.missing()
        for initiative_id in stragglers:
            state.record_failure(initiative_id, "scale", DEADLINE_REASON)
            state.scaled.settle(initiative_id)
    else:
        stragglers = []
        for evaluated in sorted(state.evaluations):
            state.record_failure(evaluated, "allocate", DEADLINE_REASON)
    state.record_missing(stragglers)
    return stragglers


def _current_progress(state: RunState) -> tuple[str, tuple[int, int]]:
    """The stage a run waits in, with its ``[k/N]``."""
    if state.stage == "pilot":
        return "evaluate", state.evaluated.progress()
    if state.stage == "scale":
        return "scale", state.scaled.progress()
    return "allocate", (0, 1)


def _progress(state: RunState, stage: str, barrier: Barrier) -> Command:
    return cmd.run_status(state.run_id, stage, barrier.progress())
