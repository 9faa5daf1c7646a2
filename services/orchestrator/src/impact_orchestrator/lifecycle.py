"""A run's lifecycle after its allocation (docs/orchestrator.md, "Run lifecycle").

measuring → evaluated → allocated → awaiting approval → approved (or amended, or rejected)
→ awaiting scale data → completed. A manifest with ``approval: none`` skips the approval;
``pilot_only: true`` ends the run at its allocation. ``run_command`` events carry what
people decide: ``approve`` (``drop``: re-allocate without those initiatives), ``reject``,
and ``scale`` (one initiative's scale data, as a measure config). The phases that wait for
people end after their deadline in days (``approval_days``, ``scale_days``) by the run's
``deadline_policy``: ``proceed`` finalises the run with what it has, ``fail`` fails it.
"""

from __future__ import annotations

from typing import Any

from impact_contracts import ImpactError

from impact_orchestrator import commands as cmd
from impact_orchestrator.barrier import Barrier
from impact_orchestrator.commands import Command
from impact_orchestrator.completion import complete, pooled
from impact_orchestrator.run_state import Decision, RunState

DAY_S = 86_400.0
NO_SCALE_DATA = (
    "no scale data: a {source!r} source cannot draw a scale sample and the measure config "
    "has no SCALE section; add one, or set approval: required to give it later with "
    "impact scale"
)


def scale_ready(config: dict[str, Any]) -> bool:
    """Whether the scale measurement of ``config`` can run now: a ``SCALE`` section names
    its data, or its source draws a scale sample itself (the simulator)."""
    if config.get("SCALE") is not None:
        return True
    from impact_measure.api import SOURCES  # the measure stage's libraries: on use

    try:
        return bool(SOURCES.get(source_type(config)).draws_scale_sample)
    except ImpactError:  # a source this replica does not know: the measure stage decides
        return True


def source_type(config: dict[str, Any]) -> str:
    data = config.get("DATA")
    source = data.get("SOURCE") if isinstance(data, dict) else None
    return str(source.get("type")) if isinstance(source, dict) else ""


def approval_required(state: RunState) -> bool:
    return state.plan.approval == "required"


def unscalable(state: RunState, initiative_ids: list[str]) -> list[str]:
    """Those of ``initiative_ids`` whose scale measurement cannot run with what the run
    holds (no scale data in the manifest, none given since)."""
    return [
        i
        for i in initiative_ids
        if i not in state.scale_configs and not scale_ready(state.spec(i).measure_config)
    ]


def flag_unscalable(state: RunState) -> set[str]:
    """Before the money is committed: in a straight-through run (no approval, scaled at
    once) an initiative whose scale measurement cannot run never gets budget. Each is
    recorded as a failure with the reason; returns their ids."""
    if approval_required(state) or state.plan.pilot_only:
        return set()
    flagged = unscalable(state, sorted(state.evaluations))
    for initiative_id in flagged:
        source = source_type(state.spec(initiative_id).measure_config)
        state.record_failure(initiative_id, "scale", NO_SCALE_DATA.format(source=source))
    return set(flagged)


def after_allocation(state: RunState, now: float) -> list[Command]:
    """A portfolio with at least one initiative was allocated: ask for approval, end a
    pilot-only run, or scale it."""
    if state.verdict is None and approval_required(state):
        state.stage = "approval"
        state.deadline.at = None  # people, not stragglers: the approval deadline applies
        state.due = _due(state.plan.approval_days, now)
        selected = state.selected
        waiting = unscalable(state, selected)
        needs = f"; scale data needed for: {', '.join(waiting)}" if waiting else ""
        message = (
            f"awaiting approval: {len(selected)} selected{needs}; "
            f"impact approve {state.run_id} [--drop ID] or impact reject {state.run_id}"
        )
        return [cmd.run_status(state.run_id, "approval", (0, 1), message=message)]
    if state.plan.pilot_only:
        return complete(state, "completed", _join(state.reason, "pilot-only run: not scaled"))
    return start_scale(state, now)


def start_scale(state: RunState, now: float) -> list[Command]:
    """Request the scale measurement of every selected initiative whose data exists; the
    others wait for their ``scale`` command."""
    selected = state.selected
    state.stage = "scale"
    state.scaled = Barrier(expected=selected)
    waiting = unscalable(state, selected)
    commands = [_scale_request(state, i) for i in selected if i not in waiting]
    if waiting:
        state.deadline.at = None  # people, not stragglers: the scale deadline applies
        state.due = _due(state.plan.scale_days, now)
        message = f"awaiting scale data for: {', '.join(waiting)}"
        commands.append(
            cmd.run_status(state.run_id, "scale", state.scaled.progress(), message=message)
        )
    else:
        if state.verdict is not None:  # the approval had stopped the straggler deadline
            state.deadline.rearm(now)
        state.due = None
        commands.append(cmd.run_status(state.run_id, "scale", state.scaled.progress()))
    return commands


def on_command(state: RunState, payload: dict[str, Any], now: float) -> list[Command]:
    """Apply one ``run_command``; one the run cannot take now is refused: recorded with
    the reason and reported on ``run_status``, the run unchanged otherwise."""
    action = str(payload["action"])
    refused = _refusal(state, action, payload)
    record = Decision(
        action=action,
        actor=payload["actor"],
        at=now,
        sent_at=payload.get("sent_at"),
        note=payload.get("note"),
        drop=list(payload.get("drop") or []),
        initiative_id=payload.get("initiative_id"),
        refused=refused,
    )
    state.decisions.append(record)
    if refused is not None:
        state.seen.count("refused_command")
        message = f"{action} refused: {refused}"
        return [cmd.run_status(state.run_id, stage_name(state), (0, 1), message=message)]
    if action == "scale":
        return _on_scale_data(state, payload)
    selected = state.selected
    record.selected = selected
    who = f"by {record.actor}" + (f": {record.note}" if record.note else "")
    if action == "reject":
        state.verdict = "rejected"
        state.allocation = None  # nothing is committed; the proposal stays in the record
        return [
            _decided(state, f"rejected {who}"),
            *complete(state, "completed", _join(state.reason, f"rejected {who}")),
        ]
    if record.drop:
        state.verdict = "amended"
        decided = f"amended {who}; dropped {', '.join(record.drop)}"
        state.reason = _join(state.reason, decided)
        return [_decided(state, decided), *_reallocate(state, set(record.drop), now)]
    state.verdict = "approved"
    state.reason = _join(state.reason, f"approved {who}")
    state.due = None
    decision = _decided(state, f"approved {who}")
    if state.plan.pilot_only:
        reason = _join(state.reason, "pilot-only run: not scaled")
        return [decision, *complete(state, "completed", reason)]
    return [decision, *start_scale(state, now)]


def _decided(state: RunState, message: str) -> Command:
    """The decision on ``run_status`` (stage ``approval``), for the run's readers."""
    return cmd.run_status(state.run_id, "approval", (1, 1), message=message)


def _refusal(state: RunState, action: str, payload: dict[str, Any]) -> str | None:
    """Why the run cannot take this command now (``None``: it can)."""
    if state.done:
        return f"the run is {state.lifecycle}"
    selected = set(state.selected)
    if action in ("approve", "reject"):
        if state.stage != "approval":
            return f"the run is {state.lifecycle}, not awaiting approval"
        unknown = sorted(set(payload.get("drop") or []) - selected)
        if unknown:
            return f"drop: not in the portfolio: {', '.join(unknown)}"
        return None
    initiative_id = str(payload["initiative_id"])
    if state.stage not in ("approval", "scale") or initiative_id not in selected:
        return f"{initiative_id!r} is not a selected initiative awaiting scale data"
    if state.stage == "scale" and not state.scaled.waits_for(initiative_id):
        return f"{initiative_id!r} is no longer awaiting scale data"
    if initiative_id in state.scale_configs or scale_ready(
        state.spec(initiative_id).measure_config
    ):
        return f"{initiative_id!r} already has scale data"
    return None


def _on_scale_data(state: RunState, payload: dict[str, Any]) -> list[Command]:
    initiative_id = str(payload["initiative_id"])
    state.scale_configs[initiative_id] = payload["measure_config"]
    if state.stage != "scale":  # given before the approval: used when scaling starts
        return []
    return [_scale_request(state, initiative_id)]


def _scale_request(state: RunState, initiative_id: str) -> Command:
    """The scale ``measure_requested`` of ``initiative_id``: with the scale data given
    later as its ``SCALE`` section when there is some."""
    spec = state.spec(initiative_id)
    given = state.scale_configs.get(initiative_id)
    if given is not None:
        pilot = {k: v for k, v in spec.measure_config.items() if k != "SCALE"}
        scale = {k: v for k, v in given.items() if k != "SCALE"}
        spec = spec.model_copy(update={"measure_config": {**pilot, "SCALE": scale}})
    return cmd.measure_requested(state.run_id, state.plan, spec, "scale")


def stale_allocation(state: RunState, event: str, payload: dict[str, Any]) -> bool:
    """Whether ``payload`` is the first allocation arriving again while the amendment's
    is awaited (it selects a dropped initiative; the amendment's never does)."""
    if event != "allocate_completed" or state.verdict != "amended":
        return False
    dropped = {i for d in state.decisions if d.refused is None for i in d.drop}
    result = payload.get("result")
    selected = result.get("selected_initiatives") if isinstance(result, dict) else None
    return bool(dropped.intersection(selected or ()))


def _reallocate(state: RunState, dropped: set[str], now: float) -> list[Command]:
    """Allocate again from the stored evaluations, without ``dropped``, on the budget."""
    state.stage = "allocate"
    state.due = None
    state.deadline.rearm(now)
    evaluations = [e for e in pooled(state, ()) if e["initiative_id"] not in dropped]
    excluded = {f.initiative_id for f in state.failures if f.stage == "scale"}
    evaluations = [e for e in evaluations if e["initiative_id"] not in excluded]
    return [
        cmd.allocate_requested(state.run_id, state.plan, evaluations),
        cmd.run_status(state.run_id, "allocate", (0, 1), message="allocating the amendment"),
    ]


def on_due(state: RunState, now: float) -> list[Command] | None:
    """The phase waiting for people passed its deadline in days: the run ends by its
    policy (``proceed``: with what it has; ``fail``: failed). ``None``: not due."""
    if state.done or state.due is None or now < state.due:
        return None
    fail = state.plan.deadline_policy == "fail"
    if state.stage == "approval":
        days = state.plan.approval_days or 0.0
        message = f"approval deadline ({days:g} days) passed without a decision; nothing scaled"
        state.due = None
        return complete(state, "failed" if fail else "completed", _join(state.reason, message))
    days = state.plan.scale_days or 0.0
    waiting = state.scaled.missing()
    for initiative_id in waiting:
        state.record_failure(initiative_id, "scale", f"scale deadline ({days:g} days) passed")
        state.scaled.settle(initiative_id)
    state.record_missing(waiting)
    message = f"scale deadline ({days:g} days) passed; missing: {', '.join(waiting) or 'none'}"
    state.due = None
    return [
        cmd.run_status(state.run_id, "scale", state.scaled.progress(), message=message),
        *complete(state, "failed" if fail else "completed", _join(state.reason, message)),
    ]


def _due(days: float | None, now: float) -> float | None:
    return None if days is None else now + days * DAY_S


def stage_name(state: RunState) -> str:
    """The ``run_status`` stage a run waits in (a done run's is ``report``)."""
    return {"pilot": "measure", "done": "report"}.get(state.stage, state.stage)


def _join(reason: str | None, more: str) -> str:
    return more if not reason else f"{reason}; {more}"
