"""Shared helpers of the FakeBus tests: one request, a doubling handler, a bus."""

from __future__ import annotations

from impact_runtime import FakeBus, Incoming, Outgoing, Output, Service, ServiceSettings

REQUEST = {"run_id": "run-1", "initiative_id": "init-7", "phase": "pilot", "x": 3}


def completed(incoming: Incoming) -> list[Output]:
    value = {"initiative_id": incoming.value["initiative_id"], "doubled": incoming.value["x"] * 2}
    return [Outgoing("measure_completed", incoming.value["run_id"], value)]


def make_bus(settings: ServiceSettings, handle, *, tick=None, state=None, **kwargs) -> FakeBus:
    service = Service(settings, ["measure_requested"], handle, **kwargs)
    service.tick, service.state = tick, state
    return FakeBus(service)
