"""The MEASURE stage as one pure function: a ``measure_requested`` command in, the
``measure_completed`` event out. The service and embedded mode both call it (no Kafka)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from impact_contracts import Component, ComponentRegistry

from impact_measure.registry import MEASURE_COMPONENTS

STAGE = "measure"
Result = tuple[str, dict[str, Any]]


class MeasureHandler:
    """``handler(command) -> ("measure_completed", payload)``; components are built once
    per (name, kwargs). ``payload["cached"]`` says whether the result came from the
    component's result cache (``impact_measure.cache``). Errors propagate: the caller
    routes them (``impact_runtime.failures``).

    Arguments:
        registry: where component names are looked up (tests pass fakes).
        data_root: when set, every component reads files only under it.
    """

    def __init__(
        self, registry: ComponentRegistry = MEASURE_COMPONENTS, data_root: str | None = None
    ) -> None:
        self.registry = registry
        self.data_root = data_root
        self._component = lru_cache(maxsize=64)(self._create)

    def __call__(self, command: dict[str, Any]) -> Result:
        from impact_measure.cache import observe

        kwargs = json.dumps(command["component_kwargs"], sort_keys=True)
        measure = self._component(command["component"], kwargs)
        with observe() as observation:
            result = measure.execute(
                {
                    "initiative_id": command["initiative_id"],
                    "phase": command["phase"],
                    "measure_config": command["measure_config"],
                    "sample_size": command["sample_size"],
                    "seed": command["seed"],
                }
            )
        payload = {"initiative_id": command["initiative_id"], "phase": command["phase"]}
        return "measure_completed", {**payload, "result": result, "cached": observation.cached}

    def _create(self, name: str, kwargs_json: str) -> Component:
        import impact_measure.component  # noqa: F401  (registers the built-ins on first use)

        kwargs = json.loads(kwargs_json)
        if self.data_root is not None:
            kwargs["data_root"] = self.data_root
        return self.registry.create(name, **kwargs)
