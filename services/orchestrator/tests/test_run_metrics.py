"""The run gauges at scrape time: open runs by stage, pending barrier entries, oldest age."""

from __future__ import annotations

from impact_orchestrator import RunState, apply
from impact_orchestrator.metrics import register_run_metrics
from impact_orchestrator.service import Orchestrator, Settings, build_service
from prometheus_client import CollectorRegistry

from services.orchestrator.tests.events import RUN_ID, manifest_payload, measured


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_gauges_follow_the_live_runs() -> None:
    states: dict[str, RunState] = {}
    registry = CollectorRegistry()
    register_run_metrics(registry, lambda: states)
    assert sample(registry, "impact_runs_open", stage="pilot") == 0
    assert sample(registry, "impact_run_age_seconds_max") == 0

    state, _ = RunState.start(manifest_payload({"a": 10.0, "b": 20.0, "c": 25.0}), RUN_ID, 1.0)
    states[RUN_ID] = state
    assert sample(registry, "impact_runs_open", stage="pilot") == 1
    assert sample(registry, "impact_barrier_pending", stage="measure") == 3
    assert sample(registry, "impact_barrier_pending", stage="evaluate") == 3
    assert sample(registry, "impact_barrier_pending", stage="scale") == 0
    age = sample(registry, "impact_run_age_seconds_max")
    assert age is not None and age > 1e9  # started at t=1 s of the epoch

    apply(state, "measure_completed", measured("a", 2.0), 2.0)
    assert sample(registry, "impact_barrier_pending", stage="measure") == 2

    state.status = "completed"
    assert sample(registry, "impact_runs_open", stage="pilot") == 0
    assert sample(registry, "impact_barrier_pending", stage="measure") == 0


def test_the_service_exposes_them_on_its_metrics_page() -> None:
    orchestrator = Orchestrator(Settings(bootstrap_servers="127.0.0.1:9"))
    service = build_service(orchestrator.settings, orchestrator)
    state, _ = RunState.start(manifest_payload({"a": 10.0}), RUN_ID, 1.0)
    orchestrator.store.states[RUN_ID] = state
    page = service.metrics.render().decode()
    assert 'impact_runs_open{stage="pilot"} 1.0' in page
    assert 'impact_barrier_pending{stage="evaluate"} 1.0' in page
