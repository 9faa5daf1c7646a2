"""ALLOCATE service: picks one run's portfolio under its budget.

Consumes ``allocate_requested`` (key ``run_id``; one command per run).
Produces ``allocate_completed`` (key ``run_id``), or ``stage_failed`` when the command
cannot be completed. Start with ``python -m impact_allocate.service``.
"""

from __future__ import annotations

from impact_runtime import ServiceSettings
from impact_runtime.stage_handler import run_stage

from impact_allocate.handler import AllocateHandler


class Settings(ServiceSettings):
    service_name: str = "allocate"


def main() -> None:
    run_stage(Settings(), AllocateHandler())


if __name__ == "__main__":
    main()
