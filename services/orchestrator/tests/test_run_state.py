"""The run state machine: exact commands on the happy path, a JSON round trip mid-run
that continues identically, and restores to a mark (other paths: test_run_state_paths.py)."""

from __future__ import annotations

from typing import Any

from impact_evaluate.cohort import pool_run
from impact_orchestrator import Command, RunState, apply

from services.orchestrator.tests.events import (
    RUN_ID,
    allocated,
    evaluated,
    evaluation,
    manifest_payload,
    measure_result,
    measured,
)

COSTS = {"a": 10.0, "b": 20.0, "c": 25.0}
PILOT = {"a": 2.0, "b": 1.0, "c": 3.0}


def status(
    stage: str, done: int, total: int, state: str = "running", msg: str | None = None
) -> Command:
    return Command(
        "run_status",
        RUN_ID,
        {
            "stage": stage,
            "completed": done,
            "total": total,
            "state": state,
            "message": msg or f"[{done}/{total}] {stage}",
        },
    )


def measure_request(manifest: dict[str, Any], initiative_id: str, phase: str) -> Command:
    return Command(
        "measure_requested",
        f"{RUN_ID}:{initiative_id}",
        {
            "initiative_id": initiative_id,
            "phase": phase,
            "component": "Measure",
            "component_kwargs": {},
            "measure_config": {"cfg": initiative_id},
            "sample_size": 500 if phase == "scale" else None,
            "seed": 7,
        },
    )


def feed(
    state: RunState, events: list[tuple[str, dict[str, Any]]]
) -> tuple[RunState, list[Command]]:
    out: list[Command] = []
    for event, payload in events:
        state, commands = apply(state, event, payload, now=0.0)
        out.extend(commands)
    return state, out


def pilot_events(ids: str = "abc") -> list[tuple[str, dict[str, Any]]]:
    events = [("measure_completed", measured(i, PILOT[i])) for i in ids]
    events += [("evaluate_completed", evaluated(i, PILOT[i], COSTS[i])) for i in ids]
    return events


def started() -> tuple[RunState, dict[str, Any]]:
    manifest = manifest_payload(COSTS)
    state, _ = RunState.start(manifest, RUN_ID, now=0.0)
    return state, manifest


def no_interval(actual: float, value_per_cost: float) -> dict[str, Any]:
    """The report fields of a raw estimate: no interval, the scale CI (±1 from the fake)."""
    return {
        "prediction_lower": None,
        "prediction_upper": None,
        "inside_interval": None,
        "probability_positive": None,
        "actual_ci_lower": actual - 1.0,
        "actual_ci_upper": actual + 1.0,
        "value_per_cost": value_per_cost,
    }


def test_happy_path_emits_exact_commands() -> None:
    """The original's numbers with ``EVALUATE: {estimates: raw}``."""
    manifest = manifest_payload(COSTS)
    manifest["evaluate"] = {**manifest["evaluate"], "kwargs": {"estimates": "raw"}}
    state, commands = RunState.start(manifest, RUN_ID, now=0.0)
    assert commands == [
        measure_request(manifest, "a", "pilot"),
        measure_request(manifest, "b", "pilot"),
        measure_request(manifest, "c", "pilot"),
        status("measure", 0, 3),
    ]

    state, commands = apply(state, "measure_completed", measured("b", 1.0), now=1.0)
    assert commands == [
        Command(
            "evaluate_requested",
            "r1:b",
            {
                "initiative_id": "b",
                "cost_to_scale": 20.0,
                "component": "Evaluate",
                "component_kwargs": {"estimates": "raw"},
                "measure": measure_result("b", 1.0),
            },
        ),
        status("measure", 1, 3),
    ]

    state, commands = feed(state, [("measure_completed", measured(i, PILOT[i])) for i in "ca"])
    assert [c.event for c in commands] == ["evaluate_requested", "run_status"] * 2
    assert commands[-1] == status("measure", 3, 3)

    evaluations = [("evaluate_completed", evaluated(i, PILOT[i], COSTS[i])) for i in "cab"]
    state, commands = feed(state, evaluations)
    assert commands == [
        status("evaluate", 1, 3),
        status("evaluate", 2, 3),
        status("evaluate", 3, 3),
        Command(
            "allocate_requested",
            RUN_ID,
            {
                "budget": 35.0,
                "component": "MinimaxRegretAllocate",
                "component_kwargs": {"time_limit_s": 5},
                "initiatives": pool_run(
                    manifest, [evaluation(i, PILOT[i], COSTS[i]) for i in "abc"]
                ),
            },
        ),
        status("allocate", 0, 1),
    ]

    allocation = allocated(35.0, {"c": 25.0, "a": 10.0}, PILOT)
    state, commands = apply(state, "allocate_completed", allocation, now=2.0)
    assert commands == [
        status("allocate", 1, 1),
        measure_request(manifest, "a", "scale"),
        measure_request(manifest, "c", "scale"),
        status("scale", 0, 2),
    ]

    state, commands = apply(state, "measure_completed", measured("c", 2.0, "scale"), now=3.0)
    assert commands == [status("scale", 1, 2)]
    state, commands = apply(state, "measure_completed", measured("a", 2.5, "scale"), now=4.0)
    expected_payload = {
        "status": "completed",
        "reports": [
            {
                "initiative_id": "a",
                "predicted_return": 2.0,
                "actual_return": 2.5,
                "prediction_error": 0.5,
                "sample_size_pilot": 100,
                "sample_size_scale": 500,
                "budget_allocated": 10.0,
                "confidence_score": 0.5,
                "model_type": "experiment",
                **no_interval(2.5, 2.0 / 10.0),
            },
            {
                "initiative_id": "c",
                "predicted_return": 3.0,
                "actual_return": 2.0,
                "prediction_error": -1.0,
                "sample_size_pilot": 100,
                "sample_size_scale": 500,
                "budget_allocated": 25.0,
                "confidence_score": 0.5,
                "model_type": "experiment",
                **no_interval(2.0, 3.0 / 25.0),
            },
        ],
        "pilots": [
            {
                "initiative_id": i,
                "model_type": "experiment",
                "effect_estimate": PILOT[i],
                "ci_lower": PILOT[i] - 1.0,
                "ci_upper": PILOT[i] + 1.0,
                "p_value": None,
                "sample_size": 100,
                "confidence_score": 0.5,
                "selected": i in "ac",
                "predicted_return": PILOT[i],
                "probability_positive": None,
            }
            for i in "abc"
        ],
        "cached": {},
        "failures": [],
        "summary": {
            "budget": 35.0,
            "n_initiatives": 3,
            "n_evaluated": 3,
            "n_selected": 2,
            "n_failed": 0,
            "total_budget_allocated": 35.0,
            "total_predicted_return": 5.0,
            "total_actual_return": 4.5,
            "total_prediction_error": -0.5,
            "solver_status": "Optimal",
            "missing": [],
            "reason": None,
            "predicted_total_lower": None,
            "predicted_total_upper": None,
            "n_inside_interval": 0,
            "n_with_interval": 0,
            "unit": None,
            "estimates": "raw",
        },
    }
    assert commands == [
        status("scale", 2, 2),
        Command("run_completed", RUN_ID, expected_payload),
        status("report", 2, 2, "completed", "completed"),
    ]
    assert state.done and state.status == "completed"
    assert state.result == expected_payload


def test_json_round_trip_mid_run_continues_identically() -> None:
    state, _ = started()
    state, _ = feed(state, pilot_events("ab"))
    state, _ = apply(state, "measure_completed", measured("a", 2.0), now=0.0)  # a duplicate
    restored = RunState.from_json(state.to_json())
    assert restored == state
    rest = [
        ("measure_completed", measured("c", 3.0)),
        ("evaluate_completed", evaluated("c", 3.0, 25.0)),
        ("allocate_completed", allocated(35.0, {"a": 10.0, "c": 25.0}, PILOT)),
        ("measure_completed", measured("c", 2.0, "scale")),
        ("measure_completed", measured("a", 2.5, "scale")),
    ]
    original_end, original_commands = feed(state, rest)
    restored_end, restored_commands = feed(restored, rest)
    assert restored_commands == original_commands
    assert restored_end.to_json() == original_end.to_json()
    assert restored_end.seen.ignored == {"duplicate": 1}


def test_a_restore_brings_back_the_state_the_mark_was_taken_of() -> None:
    state, _ = started()
    before, mark = state.to_json(), state.mark()
    middle, _ = feed(state, pilot_events("ab"))
    middle.restore(mark)
    assert middle.to_json() == before
    middle, _ = feed(state, pilot_events("ab"))
    middle_json, mark = middle.to_json(), middle.mark()
    feed(middle, pilot_events("c"))
    middle.restore(mark)
    assert middle.to_json() == middle_json
