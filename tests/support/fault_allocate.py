"""Test-only ALLOCATE components of the fault suite (see ``fault_components``).

The allocate service loads them with ``IMPACT_PLUGINS=tests.support.fault_allocate``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from impact_allocate import ALLOCATE_COMPONENTS, MinimaxRegretAllocate

from tests.support.fault_pause import INJECTED, pause

ALLOCATE_DELAY_ENV = "IMPACT_FAULT_ALLOCATE_DELAY_S"
SOLVING = "fault_allocate_solving"


@ALLOCATE_COMPONENTS.register()
class PacedAllocate(MinimaxRegretAllocate):
    """``MinimaxRegretAllocate`` after a pause of ``IMPACT_FAULT_ALLOCATE_DELAY_S`` seconds,
    so a replica can be killed mid-solve; logs a ``fault_allocate_solving`` JSON line
    (with ``at``: epoch seconds) when it starts."""

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        print(json.dumps({"event": SOLVING, "at": time.time()}), file=sys.stderr, flush=True)
        pause(ALLOCATE_DELAY_ENV)
        return super().execute(event)


@ALLOCATE_COMPONENTS.register()
class FaultyAllocate(MinimaxRegretAllocate):
    """Raises an ``IndexError`` on every request, as a component bug would."""

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        raise IndexError(f"{INJECTED}: list index out of range (allocate)")
