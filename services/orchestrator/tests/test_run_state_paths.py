"""The run state machine off the happy path: duplicate, late and unexpected results are
ignored and counted; a failed initiative drops out while the run goes on; empty and failed
allocations end the run."""

from __future__ import annotations

from typing import Any

import pytest
from impact_contracts.models import MeasureResult
from impact_orchestrator import RunState, apply

from services.orchestrator.tests.events import (
    allocated,
    evaluated,
    failed,
    measure_result,
    measured,
)
from services.orchestrator.tests.test_run_state import (
    COSTS,
    PILOT,
    feed,
    pilot_events,
    started,
    status,
)


def test_duplicates_are_dropped() -> None:
    state, _ = started()
    state, first = apply(state, "measure_completed", measured("a", 2.0), now=0.0)
    again, second = apply(state, "measure_completed", measured("a", 9.0), now=0.0)
    assert len(first) == 2
    assert second == []
    assert again.pilots == {"a": MeasureResult.model_validate(measure_result("a", 2.0))}
    assert again.seen.ignored == {"duplicate": 1}
    assert again.measured.progress() == (1, 3)


def finished() -> RunState:
    state, _ = started()
    state, _ = feed(state, pilot_events())
    allocation = allocated(35.0, {"a": 10.0, "c": 25.0}, PILOT)
    state, _ = feed(
        state,
        [
            ("allocate_completed", allocation),
            ("measure_completed", measured("a", 2.5, "scale")),
            ("measure_completed", measured("c", 2.0, "scale")),
        ],
    )
    assert state.done
    return state


def test_late_results_after_completion_change_nothing() -> None:
    state = finished()
    report = state.result
    for event, payload in [
        ("measure_completed", measured("a", 99.0, "scale")),
        ("stage_failed", failed("measure", "b", "scale")),
        ("evaluate_completed", evaluated("b", 1.0, 20.0)),
    ]:
        state, commands = apply(state, event, payload, now=10.0)
        assert commands == []
    assert state.result == report
    assert state.seen.ignored == {"late": 3}


def test_results_for_unknown_or_unselected_initiatives_are_ignored() -> None:
    state, _ = started()
    state, _ = feed(state, pilot_events())
    state, _ = apply(state, "allocate_completed", allocated(35.0, {"a": 10.0}, PILOT), now=0.0)
    state, commands = feed(
        state,
        [
            ("measure_completed", measured("zz", 1.0)),
            ("measure_completed", measured("b", 1.0, "scale")),
        ],
    )
    assert commands == []
    assert state.seen.ignored == {"unexpected": 2}


@pytest.mark.parametrize(
    ("failure", "stage"),
    [(failed("measure", "b", "pilot"), "measure"), (failed("evaluate", "b"), "evaluate")],
)
def test_pilot_stage_failure_drops_the_initiative_and_the_run_continues(
    failure: dict[str, Any], stage: str
) -> None:
    state, _ = started()
    events = [("measure_completed", measured(i, PILOT[i])) for i in "ac"]
    if stage == "evaluate":
        events.append(("measure_completed", measured("b", 1.0)))
    events += [("evaluate_completed", evaluated(i, PILOT[i], COSTS[i])) for i in "ac"]
    state, _ = feed(state, events)
    state, commands = apply(state, "stage_failed", failure, now=0.0)
    assert commands[0] == status(stage, 3, 3)
    assert commands[1].event == "allocate_requested"
    assert [i["initiative_id"] for i in commands[1].payload["initiatives"]] == ["a", "c"]
    state, _ = feed(
        state,
        [
            ("allocate_completed", allocated(35.0, {"a": 10.0}, PILOT)),
            ("measure_completed", measured("a", 2.5, "scale")),
        ],
    )
    assert state.result is not None
    assert state.result["status"] == "completed"
    assert state.result["failures"] == [{"initiative_id": "b", "stage": stage, "reason": "boom"}]
    assert state.result["summary"]["n_failed"] == 1
    assert state.result["summary"]["n_evaluated"] == 2


def test_scale_failure_is_reported_and_the_others_complete() -> None:
    state, _ = started()
    state, _ = feed(state, pilot_events())
    state, _ = feed(
        state,
        [
            ("allocate_completed", allocated(35.0, {"a": 10.0, "c": 25.0}, PILOT)),
            ("stage_failed", failed("measure", "c", "scale")),
            ("measure_completed", measured("a", 2.5, "scale")),
        ],
    )
    assert state.result is not None
    assert [r["initiative_id"] for r in state.result["reports"]] == ["a"]
    assert state.result["failures"] == [{"initiative_id": "c", "stage": "scale", "reason": "boom"}]
    assert state.result["summary"]["total_budget_allocated"] == 35.0
    assert state.result["summary"]["n_selected"] == 2


def test_empty_allocation_completes_with_an_empty_report() -> None:
    state, _ = started()
    state, _ = feed(state, pilot_events())
    state, commands = apply(state, "allocate_completed", allocated(35.0, {}, PILOT), now=0.0)
    assert [c.event for c in commands] == ["run_status", "run_completed", "run_status"]
    result = commands[1].payload
    assert result["status"] == "completed"
    assert result["reports"] == []
    assert result["summary"]["reason"] == "no initiative fits the budget"
    assert result["summary"]["n_selected"] == 0
    assert result["summary"]["total_budget_allocated"] == 0.0


def test_allocate_failure_fails_the_run() -> None:
    state, _ = started()
    state, _ = feed(state, pilot_events())
    state, commands = apply(state, "stage_failed", failed("allocate", None), now=0.0)
    assert commands[0].event == "run_completed"
    assert commands[0].payload["status"] == "failed"
    assert commands[0].payload["summary"]["reason"] == "allocate failed: boom"
    assert [f["stage"] for f in commands[0].payload["failures"]] == ["allocate"] * 3
    assert commands[1] == status("report", 0, 0, "failed", "allocate failed: boom")


def test_no_evaluated_initiative_fails_the_run_without_allocating() -> None:
    state, _ = started()
    failures = [("stage_failed", failed("measure", i, "pilot")) for i in "abc"]
    state, commands = feed(state, failures)
    assert "allocate_requested" not in [c.event for c in commands]
    assert state.result is not None
    assert state.result["status"] == "failed"
    assert state.result["summary"]["reason"] == "no initiative was evaluated"
    assert state.result["summary"]["n_failed"] == 3
