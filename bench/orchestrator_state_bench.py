"""The orchestrator's state machine alone: events per second at 1,000 to 100,000 initiatives.

Run: ``uv run python -m bench.orchestrator_state_bench`` (no broker). A whole run is fed
through a ``RunStore``: the manifest, every pilot ``measure_completed`` and
``evaluate_completed``, the allocation (selecting 10 %), every scale result, with a
commit every 500 events (a batch). Writes ``bench/results/orchestrator_state.json``.
"""

from __future__ import annotations

import time
from typing import Any

from impact_contracts.events import InitiativeSpec, ManifestSubmitted, StageChoice
from impact_orchestrator.store import RunStore

from bench.results import sizes_main

SIZES = (1_000, 10_000, 100_000)
BATCH = 500
METHOD = (
    "One run per size through impact_orchestrator.store.RunStore.handle, commit every 500 "
    "events; CPU seconds (time.process_time) of the pilot and scale results (2N + N/10 "
    "events), apart from the manifest (RunStore start: N measure_requested commands) and the "
    "allocation event. Payloads are built before timing."
)


def _manifest(n: int) -> dict[str, Any]:
    """A ``manifest_submitted`` payload of ``n`` initiatives, built by its contract."""
    stage = StageChoice(component="X", kwargs={})
    contract = ManifestSubmitted(
        budget=float(n),
        scale_sample_size=500,
        max_workers=2,
        seed=7,
        measure=stage,
        evaluate=stage,
        allocate=stage,
        initiatives=[
            InitiativeSpec(initiative_id=f"i{k:06d}", cost_to_scale=1.0, measure_config={})
            for k in range(n)
        ],
    )
    return {"run_id": "bench", **contract.model_dump()}


def _measured(initiative_id: str, phase: str) -> dict[str, Any]:
    result = {
        "initiative_id": initiative_id,
        "model_type": "experiment",
        "effect_estimate": 1.0,
        "ci_lower": 0.0,
        "ci_upper": 2.0,
        "p_value": None,
        "sample_size": 100,
        "diagnostics": {},
    }
    return {"run_id": "bench", "initiative_id": initiative_id, "phase": phase, "result": result}


def _evaluated(initiative_id: str) -> dict[str, Any]:
    result = {
        "initiative_id": initiative_id,
        "confidence": 0.5,
        "cost": 1.0,
        "return_best": 2.0,
        "return_median": 1.0,
        "return_worst": 0.0,
        "model_type": "experiment",
        "sample_size": 100,
    }
    return {"run_id": "bench", "initiative_id": initiative_id, "result": result}


def _feed(store: RunStore, events: list[tuple[str, dict[str, Any]]]) -> float:
    start = time.process_time()
    for k, (event, value) in enumerate(events, 1):
        store.handle(event, value, 0, now=1.0)
        if k % BATCH == 0:
            store.commit()
    store.commit()
    return time.process_time() - start


def bench(n: int) -> dict[str, Any]:
    ids = [f"i{k:06d}" for k in range(n)]
    selected = ids[: max(1, n // 10)]
    pilot = [("measure_completed", _measured(i, "pilot")) for i in ids]
    pilot += [("evaluate_completed", _evaluated(i)) for i in ids]
    allocated = {
        "selected_initiatives": selected,
        "budget_allocated": dict.fromkeys(selected, 1.0),
        "predicted_returns": dict.fromkeys(selected, 1.0),
        "budget": float(n),
        "rule": "minimax_regret",
        "solver_status": "Optimal",
        "objective": 1.0,
        "mip_gap": 0.0,
        "reason": None,
    }
    allocation = {"run_id": "bench", "result": allocated}
    scale = [("measure_completed", _measured(i, "scale")) for i in selected]
    store = RunStore()
    start = time.process_time()
    store.handle("manifest_submitted", _manifest(n), 0, now=0.0)
    start_s = time.process_time() - start
    pilot_s = _feed(store, pilot)
    start = time.process_time()
    store.handle("allocate_completed", allocation, 0, now=1.0)
    allocate_s = time.process_time() - start
    scale_s = _feed(store, scale)
    state = store.states["bench"]
    assert state.done and state.status == "completed", state.reason
    events = len(pilot) + len(scale)
    return {
        "initiatives": n,
        "events": events,
        "events_per_s": round(events / (pilot_s + scale_s)),
        "us_per_event": round((pilot_s + scale_s) / events * 1e6, 1),
        "start_s": round(start_s, 3),
        "allocate_event_s": round(allocate_s, 3),
        "total_cpu_s": round(start_s + pilot_s + allocate_s + scale_s, 2),
    }


def main() -> None:
    sizes_main("orchestrator_state", METHOD, __doc__ or "", SIZES, bench)


if __name__ == "__main__":
    main()
