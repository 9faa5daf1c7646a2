"""Which results the orchestrator takes in on the event loop, and which on a thread."""

from __future__ import annotations

from impact_orchestrator import RunState, apply
from impact_orchestrator.service import INLINE_INTAKE_MAX_INITIATIVES, Orchestrator, Settings

from services.orchestrator.tests.events import RUN_ID, evaluated, manifest_payload, measured

IDS = [f"i{n:02d}" for n in range(INLINE_INTAKE_MAX_INITIATIVES + 2)]


def test_only_a_result_that_can_complete_a_barrier_goes_to_a_thread() -> None:
    orchestrator = Orchestrator(Settings(bootstrap_servers="127.0.0.1:9"))
    state, _ = RunState.start(manifest_payload(dict.fromkeys(IDS, 10.0)), RUN_ID, 1.0)
    orchestrator.store.states[RUN_ID] = state
    inline = orchestrator._small_result
    assert not inline("manifest_submitted", RUN_ID, {})
    for initiative_id in IDS:
        assert inline("measure_completed", RUN_ID, measured(initiative_id, 2.0))
        apply(state, "measure_completed", measured(initiative_id, 2.0), 2.0)
    for initiative_id in IDS[:-1]:
        assert inline("evaluate_completed", RUN_ID, evaluated(initiative_id, 1.0, 10.0))
        apply(state, "evaluate_completed", evaluated(initiative_id, 1.0, 10.0), 3.0)
    last = evaluated(IDS[-1], 1.0, 10.0)
    assert not inline("evaluate_completed", RUN_ID, last)  # it builds the allocate request
    assert not inline("allocate_completed", RUN_ID, {})  # the scale fan-out
    assert not inline("measure_completed", "another-run", measured(IDS[0], 2.0))  # unknown run
