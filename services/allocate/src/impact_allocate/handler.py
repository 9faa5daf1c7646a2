"""The ALLOCATE stage as one pure function: an ``allocate_requested`` command in, the
``allocate_completed`` event out. The service and embedded mode both call it (no Kafka)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from impact_contracts import Component, ComponentRegistry

from impact_allocate.registry import ALLOCATE_COMPONENTS

STAGE = "allocate"
Result = tuple[str, dict[str, Any]]


class AllocateHandler:
    """``handler(command) -> ("allocate_completed", payload)``; components are built once
    per (name, kwargs). Errors propagate: the caller routes them (``impact_runtime.failures``)."""

    def __init__(self, registry: ComponentRegistry = ALLOCATE_COMPONENTS) -> None:
        self.registry = registry
        self._component = lru_cache(maxsize=16)(self._create)

    def __call__(self, command: dict[str, Any]) -> Result:
        kwargs = json.dumps(command["component_kwargs"], sort_keys=True)
        allocate = self._component(command["component"], kwargs)
        result = allocate.execute(
            {"budget": command["budget"], "initiatives": command["initiatives"]}
        )
        return "allocate_completed", {"result": result}

    def _create(self, name: str, kwargs_json: str) -> Component:
        import impact_allocate.component  # noqa: F401  (registers the built-ins on first use)

        return self.registry.create(name, **json.loads(kwargs_json))
