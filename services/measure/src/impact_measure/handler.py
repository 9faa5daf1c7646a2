"""The MEASURE stage as one pure function: a ``measure_requested`` command in, the
``measure_completed`` event out. The service and embedded mode both call it (no Kafka)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from impact_contracts import ComponentCatalog
from impact_contracts.stage_handler import StageHandler

from impact_measure.catalog import MEASURE_COMPONENTS

STAGE = "measure"


class MeasureHandler(StageHandler):
    """``handler(command) -> ("measure_completed", payload)``. ``payload["cached"]`` says
    whether the result came from the component's result cache (``impact_measure.cache``).

    Arguments:
        catalog: where component names are looked up (tests pass fakes).
        data_root: when set, every component reads files only under it.
    """

    stage = STAGE
    reads = ("initiative_id", "phase", "measure_config", "sample_size", "seed")
    echoes = ("initiative_id", "phase")
    builtins = "impact_measure.component"

    def __init__(
        self, catalog: ComponentCatalog = MEASURE_COMPONENTS, data_root: str | None = None
    ) -> None:
        super().__init__(catalog, **({} if data_root is None else {"data_root": data_root}))
        self.data_root = data_root

    @contextmanager
    def observe(self) -> Iterator[dict[str, Any]]:
        """Adds ``cached``: whether ``execute`` answered from the result cache."""
        from impact_measure.cache import observe

        observed: dict[str, Any] = {}
        with observe() as observation:
            yield observed
        observed["cached"] = observation.cached
