"""Runs one command against a pure component, returning the event a service would emit."""

from __future__ import annotations

import json
import threading
from typing import Any

from impact_contracts import (
    Component,
    ConfigError,
    ContractViolation,
    PermanentError,
    SchemaMismatch,
)

from impact_orchestrator.commands import Command
from impact_orchestrator.manifest import Registries

Event = tuple[str, dict[str, Any]]

_STAGE_OF = {
    "measure_requested": "measure",
    "evaluate_requested": "evaluate",
    "allocate_requested": "allocate",
}


class ComponentExecutor:
    """Executes request commands like the stage services do, without a broker.

    Components are built once per (stage, name, kwargs). A ``PermanentError`` or
    ``ConfigError`` on a valid command becomes a ``stage_failed`` event, exactly as the
    runtime emits it; contract violations propagate (a service would dead-letter them).
    """

    def __init__(self, registries: Registries) -> None:
        self._registries = registries
        self._components: dict[tuple[str, str, str], Component] = {}
        self._lock = threading.Lock()

    def __call__(self, command: Command) -> Event:
        request = command.payload
        stage = _STAGE_OF[command.event]
        try:
            component = self._component(stage, request["component"], request["component_kwargs"])
            return _run(stage, component, request)
        except (SchemaMismatch, ContractViolation):
            raise
        except (PermanentError, ConfigError) as exc:
            return "stage_failed", {
                "stage": stage,
                "initiative_id": request.get("initiative_id"),
                "phase": request.get("phase"),
                "reason": str(exc),
                "error_type": type(exc).__name__,
            }

    def _component(self, stage: str, name: str, kwargs: dict[str, Any]) -> Component:
        key = (stage, name, json.dumps(kwargs, sort_keys=True))
        with self._lock:
            if key not in self._components:
                registry = self._registries.for_section(stage.upper())
                self._components[key] = registry.create(name, **kwargs)
            return self._components[key]


def _run(stage: str, component: Component, request: dict[str, Any]) -> Event:
    if stage == "measure":
        result = component.execute(
            {
                "initiative_id": request["initiative_id"],
                "phase": request["phase"],
                "measure_config": request["measure_config"],
                "sample_size": request["sample_size"],
                "seed": request["seed"],
            }
        )
        payload = {"initiative_id": request["initiative_id"], "phase": request["phase"]}
        return "measure_completed", {**payload, "result": result}
    if stage == "evaluate":
        result = component.execute(
            {
                "initiative_id": request["initiative_id"],
                "cost_to_scale": request["cost_to_scale"],
                "measure": request["measure"],
            }
        )
        return "evaluate_completed", {"initiative_id": request["initiative_id"], "result": result}
    result = component.execute({"budget": request["budget"], "initiatives": request["initiatives"]})
    return "allocate_completed", {"result": result}
