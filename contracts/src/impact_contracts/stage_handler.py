"""One shape for the stage handlers of MEASURE, EVALUATE and ALLOCATE (pure, no Kafka).

A stage is a catalog of pure components and a ``<stage>_requested`` command naming one
(``component``, ``component_kwargs``). ``StageHandler`` turns the command into the
component's input, runs it and returns ``("<stage>_completed", payload)``. The stage
service (``impact_runtime.stage_handler.run_stage``) and embedded mode
(``impact_runtime.stage.run_inline``) call the same handler.

A stage's handler is a subclass naming its stage and fields::

    class EvaluateHandler(StageHandler):
        stage = "evaluate"
        reads = ("initiative_id", "cost_to_scale", "measure")
        echoes = ("initiative_id",)
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, ClassVar

from impact_contracts.components import Component, ComponentCatalog

#: ``(event name, payload)``
Event = tuple[str, dict[str, Any]]


class StageHandler:
    """``handler(command) -> ("<stage>_completed", payload)``; components are built once
    per (name, kwargs). Errors propagate: the caller routes them (``impact_runtime.failures``).

    Arguments:
        catalog: where component names are looked up (tests pass fakes).
        **kwargs: added to every component's kwargs (e.g. the service's ``data_root``).
    """

    #: the stage's name, as in ``stage_failed`` and the event names
    stage: ClassVar[str]
    #: command fields passed to the component's ``execute``
    reads: ClassVar[tuple[str, ...]]
    #: command fields copied into the completed event next to ``result``
    echoes: ClassVar[tuple[str, ...]] = ()
    #: the handler returns at once: the service calls it on its event loop, not a thread
    on_event_loop: ClassVar[bool] = False
    #: module whose import registers the built-in components (imported on first build)
    builtins: ClassVar[str | None] = None
    #: how many (name, kwargs) components are kept
    cache_size: ClassVar[int] = 64

    def __init__(self, catalog: ComponentCatalog, **kwargs: Any) -> None:
        self.catalog = catalog
        self.extra_kwargs = kwargs
        self._component = lru_cache(maxsize=self.cache_size)(self._create)

    @property
    def completed(self) -> str:
        """The event this stage answers a command with."""
        return f"{self.stage}_completed"

    def __call__(self, command: dict[str, Any]) -> Event:
        kwargs = json.dumps(command["component_kwargs"], sort_keys=True)
        component = self._component(command["component"], kwargs)
        event = {field: command[field] for field in self.reads}
        echoed = {field: command[field] for field in self.echoes}
        with self.observe() as observed:
            result = component.execute(event)
        return self.completed, {**echoed, "result": result, **observed}

    @contextmanager
    def observe(self) -> Iterator[dict[str, Any]]:
        """Around one ``execute``: fills the payload fields a stage adds after ``result``."""
        yield {}

    def _create(self, name: str, kwargs_json: str) -> Component:
        if self.builtins is not None:
            importlib.import_module(self.builtins)
        return self.catalog.create(name, **{**json.loads(kwargs_json), **self.extra_kwargs})
