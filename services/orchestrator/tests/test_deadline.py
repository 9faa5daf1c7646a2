"""Deadline policies: ``fail`` ends the run, ``proceed`` drops stragglers and goes on."""

from __future__ import annotations

from impact_orchestrator import RunState, apply, on_tick

from services.orchestrator.tests.events import (
    RUN_ID,
    allocated,
    evaluated,
    manifest_payload,
    measured,
)

COSTS = {"a": 10.0, "b": 20.0, "c": 25.0}
MEDIANS = {"a": 2.0, "b": 1.0, "c": 3.0}


def waiting_for_c(policy: str) -> RunState:
    """a and b evaluated; c measured but never evaluated. Deadline 10 s after t=100."""
    manifest = manifest_payload(COSTS, deadline_s=10.0, deadline_policy=policy)
    state, _ = RunState.start(manifest, RUN_ID, now=100.0)
    for event, payload in [
        ("measure_completed", measured("a", 2.0)),
        ("measure_completed", measured("b", 1.0)),
        ("measure_completed", measured("c", 3.0)),
        ("evaluate_completed", evaluated("a", 2.0, 10.0)),
        ("evaluate_completed", evaluated("b", 1.0, 20.0)),
    ]:
        state, _ = apply(state, event, payload, now=101.0)
    return state


def test_nothing_happens_before_the_deadline() -> None:
    state = waiting_for_c("fail")
    after, commands = on_tick(state, now=109.999)
    assert commands == []
    assert after == state


def test_fail_policy_completes_the_run_as_failed_with_the_missing_ids() -> None:
    state, commands = on_tick(waiting_for_c("fail"), now=110.0)
    assert [c.event for c in commands] == ["run_status", "run_completed", "run_status"]
    assert commands[0].payload == {
        "stage": "evaluate",
        "completed": 3,
        "total": 3,
        "state": "running",
        "message": "deadline exceeded; missing: c",
    }
    result = commands[1].payload
    assert result["status"] == "failed"
    assert result["reports"] == []
    assert result["failures"] == [
        {"initiative_id": "c", "stage": "evaluate", "reason": "deadline exceeded"}
    ]
    assert result["summary"]["missing"] == ["c"]
    assert result["summary"]["reason"] == "deadline exceeded; missing: c"
    assert state.done


def test_proceed_policy_allocates_what_arrived_and_records_the_missing() -> None:
    state, commands = on_tick(waiting_for_c("proceed"), now=110.0)
    assert [c.event for c in commands] == ["run_status", "allocate_requested", "run_status"]
    assert [i["initiative_id"] for i in commands[1].payload["initiatives"]] == ["a", "b"]
    assert state.deadline.at == 120.0  # re-armed for the remaining stages

    late, ignored = apply(state, "evaluate_completed", evaluated("c", 3.0, 25.0), now=111.0)
    assert ignored == []
    assert late.seen.ignored == {"late": 1}

    state, _ = apply(
        state, "allocate_completed", allocated(35.0, {"a": 10.0, "b": 20.0}, MEDIANS), 112.0
    )
    state, _ = apply(state, "measure_completed", measured("a", 2.5, "scale"), now=113.0)
    state, commands = on_tick(state, now=120.0)
    assert [c.event for c in commands] == ["run_status", "run_completed", "run_status"]
    result = commands[1].payload
    assert result["status"] == "completed"
    assert [r["initiative_id"] for r in result["reports"]] == ["a"]
    assert result["failures"] == [
        {"initiative_id": "b", "stage": "scale", "reason": "deadline exceeded"},
        {"initiative_id": "c", "stage": "evaluate", "reason": "deadline exceeded"},
    ]
    assert result["summary"]["missing"] == ["b", "c"]
    assert result["summary"]["reason"] == "deadline exceeded; proceeded without: b"


def test_deadline_while_waiting_for_allocate_fails_the_run() -> None:
    state, _ = on_tick(waiting_for_c("proceed"), now=110.0)
    state, commands = on_tick(state, now=120.0)
    assert commands[1].event == "run_completed"
    assert commands[1].payload["status"] == "failed"
    assert commands[1].payload["summary"]["reason"] == "deadline exceeded; missing: none"
    stages = sorted((f["initiative_id"], f["stage"]) for f in commands[1].payload["failures"])
    assert stages == [("a", "allocate"), ("b", "allocate"), ("c", "evaluate")]


def test_runs_without_a_deadline_never_expire() -> None:
    state, _ = RunState.start(manifest_payload(COSTS), RUN_ID, now=0.0)
    after, commands = on_tick(state, now=1e12)
    assert commands == [] and after.deadline.at is None
