"""Test-only components for the fault suite, registered by name in the stage registries.

The services import this module through ``IMPACT_PLUGINS=tests.support.fault_components``;
the test process imports it too, so manifests naming these components load and embedded
mode runs the same classes. Every one returns exactly what its parent returns:

- ``PacedMeasure`` / ``PacedAllocate``: sleep ``IMPACT_FAULT_MEASURE_DELAY_S`` /
  ``IMPACT_FAULT_ALLOCATE_DELAY_S`` (default 0) first, so a run lasts long enough for a
  fault schedule (the sleep is set in the services' environment only);
- ``FaultyMeasure`` / ``FaultyAllocate``: raise an unexpected ``IndexError`` (a component
  bug) for the initiatives in ``fail_for`` / always;
- ``StallingMeasure``: never answers for the initiatives in ``stall_for`` (blocks up to
  ``stall_s``, or until ``release_stalls()`` in this process).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from impact_allocate import ALLOCATE_COMPONENTS, MinimaxRegretAllocate
from impact_measure import MEASURE_COMPONENTS, Measure

MEASURE_DELAY_ENV = "IMPACT_FAULT_MEASURE_DELAY_S"
ALLOCATE_DELAY_ENV = "IMPACT_FAULT_ALLOCATE_DELAY_S"
INJECTED = "injected fault"

_released = threading.Event()


def _pause(env: str) -> None:
    delay = float(os.environ.get(env) or 0.0)
    if delay > 0:
        time.sleep(delay)


def release_stalls() -> None:
    """Let every ``StallingMeasure`` call in this process return (embedded mode)."""
    _released.set()


@MEASURE_COMPONENTS.register()
class PacedMeasure(Measure):
    """``Measure`` after a pause of ``IMPACT_FAULT_MEASURE_DELAY_S`` seconds."""

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        _pause(MEASURE_DELAY_ENV)
        return super().execute(event)


@MEASURE_COMPONENTS.register()
class FaultyMeasure(Measure):
    """``Measure``, except an ``IndexError`` for the initiatives in ``fail_for``."""

    def __init__(
        self,
        fail_for: list[str] | None = None,
        data_root: str | None = None,
        storage_url: str | None = None,
    ) -> None:
        super().__init__(data_root=data_root, storage_url=storage_url)
        self.fail_for = set(fail_for or ())

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        if event["initiative_id"] in self.fail_for:
            raise IndexError(f"{INJECTED}: list index out of range ({event['initiative_id']})")
        return super().execute(event)


@MEASURE_COMPONENTS.register()
class StallingMeasure(Measure):
    """``Measure``, except no answer for ``stall_s`` seconds for the ids in ``stall_for``."""

    def __init__(
        self,
        stall_for: list[str] | None = None,
        stall_s: float = 3600.0,
        data_root: str | None = None,
        storage_url: str | None = None,
    ) -> None:
        super().__init__(data_root=data_root, storage_url=storage_url)
        self.stall_for = set(stall_for or ())
        self.stall_s = stall_s

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        if event["initiative_id"] in self.stall_for:
            _released.wait(self.stall_s)
        return super().execute(event)


@ALLOCATE_COMPONENTS.register()
class PacedAllocate(MinimaxRegretAllocate):
    """``MinimaxRegretAllocate`` after a pause of ``IMPACT_FAULT_ALLOCATE_DELAY_S`` seconds,
    so a replica can be killed mid-solve."""

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        _pause(ALLOCATE_DELAY_ENV)
        return super().execute(event)


@ALLOCATE_COMPONENTS.register()
class FaultyAllocate(MinimaxRegretAllocate):
    """Raises an ``IndexError`` on every request, like the allocator bug of issue 7."""

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        raise IndexError(f"{INJECTED}: list index out of range (allocate)")
