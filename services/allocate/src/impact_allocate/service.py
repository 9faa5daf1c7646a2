"""ALLOCATE service: picks one run's portfolio under its budget.

Consumes ``allocate_requested`` (key ``run_id``; one command per run).
Produces ``allocate_completed`` (key ``run_id``), or ``stage_failed`` when the component
rejects a valid command. Start with ``python -m impact_allocate.service``.
"""

from __future__ import annotations

from impact_runtime import Incoming, Outgoing, Output, Service, ServiceSettings, run_service

from impact_allocate import ALLOCATE_COMPONENTS


class Settings(ServiceSettings):
    service_name: str = "allocate"


def handle(msg: Incoming) -> list[Output]:
    """Command in, ``allocate_completed`` out."""
    cmd = msg.value
    allocate = ALLOCATE_COMPONENTS.create(cmd["component"], **cmd["component_kwargs"])
    result = allocate.execute({"budget": cmd["budget"], "initiatives": cmd["initiatives"]})
    return [Outgoing("allocate_completed", key=cmd["run_id"], value={"result": result})]


def main() -> None:
    run_service(Service(Settings(), ["allocate_requested"], handle, failure_stage="allocate"))


if __name__ == "__main__":
    main()
