"""In-place transitions: a mark taken at any point of a run is restored exactly (the
RunStore's rollback relies on it), and an event costs the same at any run size."""

from __future__ import annotations

import time
from typing import Any

import pytest
from impact_contracts import ContractViolation
from impact_orchestrator import RunState, apply, on_tick
from impact_orchestrator.store import RunStore

from services.orchestrator.tests.events import (
    RUN_ID,
    allocated,
    evaluated,
    failed,
    manifest_payload,
    measured,
)

COSTS = {"a": 10.0, "b": 20.0, "c": 25.0, "d": 5.0}
EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("measure_completed", measured("a", 2.0)),
    ("measure_completed", measured("a", 9.0)),  # a duplicate
    ("evaluate_completed", evaluated("a", 2.0, 10.0)),
    ("stage_failed", failed("measure", "b", "pilot")),
    ("evaluate_completed", evaluated("b", 1.0, 20.0)),  # late: b failed
    ("measure_completed", measured("c", 3.0)),
    ("evaluate_completed", evaluated("zz", 3.0, 1.0)),  # unexpected
    ("measure_completed", measured("d", 1.0)),
    ("evaluate_completed", evaluated("c", 3.0, 25.0)),
    ("evaluate_completed", evaluated("d", 1.0, 5.0)),
    ("allocate_completed", allocated(35.0, {"a": 10.0, "c": 25.0}, {"a": 2.0, "c": 3.0})),
    ("measure_completed", measured("c", 2.0, "scale")),
    ("stage_failed", failed("measure", "a", "scale")),
    ("measure_completed", measured("a", 2.0, "scale")),  # after the run is done
]


def started(n_costs: dict[str, float] = COSTS, deadline_s: float | None = None) -> RunState:
    return RunState.start(manifest_payload(n_costs, deadline_s=deadline_s), RUN_ID, now=0.0)[0]


def feed(state: RunState, events: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    commands: list[Any] = []
    for event, payload in events:
        state, out = apply(state, event, payload, now=1.0)
        commands.extend(out)
    return commands


@pytest.mark.parametrize("at", range(len(EVENTS)))
def test_a_mark_at_any_point_restores_that_state_exactly(at: int) -> None:
    state = started()
    feed(state, EVENTS[:at])
    snapshot, mark = state.to_json(), state.mark()
    first = feed(state, EVENTS[at:])
    assert state.done and state.to_json() != snapshot
    state.restore(mark)
    assert state.to_json() == snapshot
    assert feed(state, EVENTS[at:]) == first  # and it carries on exactly as before


def test_a_restored_deadline_expiry_fires_again() -> None:
    state = started(deadline_s=10.0)
    feed(state, EVENTS[:3])
    snapshot, mark = state.to_json(), state.mark()
    _, expired = on_tick(state, now=11.0)
    assert state.deadline.at == 21.0 and state.missing == ["b", "c", "d"]
    state.restore(mark)
    assert state.to_json() == snapshot
    assert on_tick(state, now=11.0)[1] == expired


def test_a_transition_that_raises_changes_nothing() -> None:
    store = RunStore()
    manifest = {"run_id": RUN_ID, **manifest_payload(COSTS)}
    store.handle("manifest_submitted", manifest, 0, now=0.0)
    for event, payload in EVENTS[:10]:
        store.handle(event, {"run_id": RUN_ID, **payload}, 0, now=1.0)
    store.commit()
    before = store.states[RUN_ID].to_json()
    bad = allocated(35.0, {"nope": 1.0}, {"nope": 1.0})
    with pytest.raises(ContractViolation, match="selected unknown initiatives"):
        store.handle("allocate_completed", {"run_id": RUN_ID, **bad}, 0, now=2.0)
    assert store.states[RUN_ID].to_json() == before  # the dedup key was not kept either
    store.rollback()
    assert store.states[RUN_ID].to_json() == before


def _pilot_results(ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    return [
        *(("measure_completed", measured(i, 1.0)) for i in ids),
        *(("evaluate_completed", evaluated(i, 1.0, 1.0)) for i in ids),
    ]


def _cpu_per_event(n: int, events: int = 2_000) -> float:
    """Best-of-3 CPU seconds per pilot result (measure, then evaluate) on the RunStore of
    a run of ``n`` initiatives, all but ``events / 2 + 1`` of them already evaluated (so
    the barrier stays open); each pass ends in a rollback, timed too."""
    costs = {f"i{k:06d}": 1.0 for k in range(n)}
    ids = list(costs)
    store = RunStore()
    store.handle("manifest_submitted", {"run_id": RUN_ID, **manifest_payload(costs)}, 0, 0.0)
    for event, payload in _pilot_results(ids[: -(events // 2 + 1)]):
        store.handle(event, {"run_id": RUN_ID, **payload}, 0, now=1.0)
    store.commit()
    timed = _pilot_results(ids[-(events // 2 + 1) : -1])
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for event, payload in timed:
            store.handle(event, {"run_id": RUN_ID, **payload}, 0, now=1.0)
        assert store.states[RUN_ID].evaluated.progress() == (n - 1, n)
        store.rollback()
        best = min(best, time.process_time() - start)
        assert store.states[RUN_ID].evaluated.progress() == (n - events // 2 - 1, n)
    return best / events


def test_an_event_costs_the_same_in_a_run_ten_times_larger() -> None:
    small, large = _cpu_per_event(2_000), _cpu_per_event(20_000)
    assert large < 3 * small, (
        f"per event: {small * 1e6:.0f} us at 2,000, {large * 1e6:.0f} us at 20,000"
    )
