"""Test-only components for the fault suite, registered by name in the stage catalogs.

The services import them through ``IMPACT_PLUGINS`` (``FaultStack`` gives each service
only its stage's module: ``fault_measure``, ``fault_allocate``; the orchestrator, which
checks manifests against every catalog, gets both). The test process imports this
module, so manifests naming these components load and embedded mode runs the same
classes. Every component returns exactly what its parent returns:

- ``PacedMeasure`` / ``PacedAllocate``: sleep ``IMPACT_FAULT_MEASURE_DELAY_S`` /
  ``IMPACT_FAULT_ALLOCATE_DELAY_S`` (default 0) first, so a run lasts long enough for a
  fault schedule (the sleep is set in the services' environment only);
- ``FaultyMeasure`` / ``FaultyAllocate``: raise an unexpected ``IndexError`` (a component
  bug) for the initiatives in ``fail_for`` / always;
- ``StallingMeasure``: never answers for the initiatives in ``stall_for`` (blocks up to
  ``stall_s``, or until ``release_stalls()`` in this process).
"""

from tests.support.fault_allocate import ALLOCATE_DELAY_ENV, SOLVING
from tests.support.fault_measure import MEASURE_DELAY_ENV, release_stalls
from tests.support.fault_pause import INJECTED

__all__ = ["ALLOCATE_DELAY_ENV", "INJECTED", "MEASURE_DELAY_ENV", "SOLVING", "release_stalls"]
