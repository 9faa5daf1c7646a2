"""Test-only MEASURE components of the fault suite (see ``fault_components``).

The measure service loads them with ``IMPACT_PLUGINS=tests.support.fault_measure``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from impact_measure import MEASURE_COMPONENTS, Measure

from tests.support.fault_pause import INJECTED, pause

MEASURE_DELAY_ENV = "IMPACT_FAULT_MEASURE_DELAY_S"

_released = threading.Event()


def release_stalls() -> None:
    """Let every ``StallingMeasure`` call in this process return (embedded mode)."""
    _released.set()


@MEASURE_COMPONENTS.register()
class PacedMeasure(Measure):
    """``Measure`` after a pause of ``IMPACT_FAULT_MEASURE_DELAY_S`` seconds."""

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        pause(MEASURE_DELAY_ENV)
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


@MEASURE_COMPONENTS.register()
class SlowMeasure(Measure):
    """``Measure`` after ``slow_s`` seconds for the initiatives in ``slow_for`` (in both
    modes: a measurement that takes long on real data, without the CPU)."""

    def __init__(
        self,
        slow_for: list[str] | None = None,
        slow_s: float = 0.0,
        data_root: str | None = None,
        storage_url: str | None = None,
        cache: bool = True,
    ) -> None:
        super().__init__(data_root=data_root, storage_url=storage_url, cache=cache)
        self.slow_for = set(slow_for or ())
        self.slow_s = slow_s

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        if event["initiative_id"] in self.slow_for:
            time.sleep(self.slow_s)
        return super().execute(event)
