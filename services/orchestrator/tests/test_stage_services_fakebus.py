"""The whole pipeline on FakeBus: the orchestrator service and the measure, evaluate and
allocate services (their real handlers, fake components) give the embedded report, also
when components fail: a ComponentError and a bug (IndexError, pilot or scale) end their
initiative with the same stage_failed reason in both modes (one failure routing)."""

from __future__ import annotations

from typing import Any

from impact_allocate.handler import AllocateHandler
from impact_evaluate.handler import EvaluateHandler
from impact_measure.handler import MeasureHandler
from impact_orchestrator import run_embedded
from impact_orchestrator.manifest import Catalogs, load_manifest
from impact_orchestrator.service import Orchestrator, Settings, build_service
from impact_runtime import FakeBus, JsonCodec, Produced, Service, ServiceSettings
from impact_runtime.stage import StageHandle, stage_handler

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import measure_config

RUN_ID = "run-stages"


def stage_buses(catalogs: Catalogs) -> dict[str, FakeBus]:
    """Command event → a FakeBus running that stage's service."""
    handlers: dict[str, StageHandle] = {
        "measure": MeasureHandler(catalogs.measure),
        "evaluate": EvaluateHandler(catalogs.evaluate),
        "allocate": AllocateHandler(catalogs.allocate),
    }
    buses = {}
    for stage, handler in handlers.items():
        settings = ServiceSettings(service_name=stage, bootstrap_servers="127.0.0.1:9")
        command = f"{stage}_requested"
        service = Service(settings, [command], stage_handler(handler), failure_stage=stage)
        buses[command] = FakeBus(service, JsonCodec())
    return buses


async def run_on_fakebus(manifest: dict[str, Any], catalogs: Catalogs) -> dict[str, Any]:
    settings = Settings(bootstrap_servers="127.0.0.1:9")
    orchestrator = Orchestrator(settings)
    bus = FakeBus(build_service(settings, orchestrator), JsonCodec())
    await bus.assign()
    await orchestrator.restored.wait()
    stages = stage_buses(catalogs)
    queue: list[Produced] = await bus.publish("manifest_submitted", {"run_id": RUN_ID, **manifest})
    while queue:
        produced, queue = queue[0], queue[1:]
        if produced.event in stages:
            for answer in await stages[produced.event].publish(produced.event, produced.value):
                assert answer.event is not None, f"dead-lettered: {answer.headers}"
                queue += await bus.publish(answer.event, answer.value)
    assert bus.dlq == []
    [completed] = bus.events("run_completed")
    return {
        k: completed[k] for k in ("status", "reports", "pilots", "cached", "failures", "summary")
    }


async def test_component_failures_end_initiatives_as_in_embedded_mode(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    configs = {
        "a": measure_config(effect=2.0, scale_effect=2.5),
        "b": measure_config(effect=1.0, fail="pilot"),
        "c": measure_config(effect=3.0, bug="pilot"),
        "d": measure_config(effect=0.5, bug="scale"),
    }
    path = write_yaml(
        "manifest.yaml",
        {
            "budget": 40.0,
            "scale_sample_size": 400,
            "seed": 3,
            "INITIATIVES": [
                {"initiative_id": i, "cost_to_scale": 10.0, "measure_config": config}
                for i, config in configs.items()
            ],
        },
    )
    manifest = load_manifest(path, catalogs=catalogs)
    report = await run_on_fakebus(manifest.to_event_payload(), catalogs)
    assert report == run_embedded(manifest, catalogs=catalogs, run_id=RUN_ID)
    failures = {(f["initiative_id"], f["stage"]): f["reason"] for f in report["failures"]}
    assert set(failures) == {("b", "measure"), ("c", "measure"), ("d", "scale")}
    assert failures[("b", "measure")] == "cannot measure b"
    for bug in (failures[("c", "measure")], failures[("d", "scale")]):
        assert bug.startswith("unexpected IndexError: list index out of range at execute (")
        assert "fakes.py:" in bug and "<- __call__ (" in bug and "handler.py:" in bug
    assert [r["initiative_id"] for r in report["reports"]] == ["a"]
