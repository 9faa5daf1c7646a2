"""The EVALUATE stage as one pure function: an ``evaluate_requested`` command in, the
``evaluate_completed`` event out. The service and embedded mode both call it (no Kafka)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from impact_contracts import Component, ComponentRegistry

from impact_evaluate.component import EVALUATE_COMPONENTS

STAGE = "evaluate"
Result = tuple[str, dict[str, Any]]


class EvaluateHandler:
    """``handler(command) -> ("evaluate_completed", payload)``; components are built once
    per (name, kwargs). Errors propagate: the caller routes them (``impact_runtime.failures``)."""

    def __init__(self, registry: ComponentRegistry = EVALUATE_COMPONENTS) -> None:
        self.registry = registry
        self._component = lru_cache(maxsize=64)(self._create)

    def __call__(self, command: dict[str, Any]) -> Result:
        kwargs = json.dumps(command["component_kwargs"], sort_keys=True)
        evaluate = self._component(command["component"], kwargs)
        result = evaluate.execute(
            {
                "initiative_id": command["initiative_id"],
                "cost_to_scale": command["cost_to_scale"],
                "measure": command["measure"],
            }
        )
        return "evaluate_completed", {"initiative_id": command["initiative_id"], "result": result}

    def _create(self, name: str, kwargs_json: str) -> Component:
        return self.registry.create(name, **json.loads(kwargs_json))
