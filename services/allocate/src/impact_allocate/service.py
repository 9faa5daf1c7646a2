"""ALLOCATE service: picks one run's portfolio under its budget.

Consumes ``allocate_requested`` (key ``run_id``; one command per run).
Produces ``allocate_completed`` (key ``run_id``), or ``stage_failed`` when the command
cannot be completed. Start with ``python -m impact_allocate.service``.
"""

from __future__ import annotations

from impact_runtime import Service, ServiceSettings, run_service
from impact_runtime.stage import stage_handler

from impact_allocate.handler import STAGE, AllocateHandler


class Settings(ServiceSettings):
    service_name: str = "allocate"


#: Command in, ``allocate_completed`` out (``impact_allocate.handler``).
handle = stage_handler(AllocateHandler())


def main() -> None:
    run_service(Service(Settings(), ["allocate_requested"], handle, failure_stage=STAGE))


if __name__ == "__main__":
    main()
