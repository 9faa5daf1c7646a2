"""EVALUATE service: scores confidence in one pilot measurement per command.

Consumes ``evaluate_requested`` (key ``run_id:initiative_id``).
Produces ``evaluate_completed`` (key ``run_id``), or ``stage_failed`` when the component
rejects a valid command. Start with ``python -m impact_evaluate.service``.
"""

from __future__ import annotations

from impact_runtime import Incoming, Outgoing, Output, Service, ServiceSettings, run_service

from impact_evaluate import EVALUATE_COMPONENTS


class Settings(ServiceSettings):
    service_name: str = "evaluate"


def handle(msg: Incoming) -> list[Output]:
    """Command in, ``evaluate_completed`` out."""
    cmd = msg.value
    evaluate = EVALUATE_COMPONENTS.create(cmd["component"], **cmd["component_kwargs"])
    result = evaluate.execute(
        {
            "initiative_id": cmd["initiative_id"],
            "cost_to_scale": cmd["cost_to_scale"],
            "measure": cmd["measure"],
        }
    )
    payload = {"initiative_id": cmd["initiative_id"], "result": result}
    return [Outgoing("evaluate_completed", key=cmd["run_id"], value=payload)]


def main() -> None:
    run_service(Service(Settings(), ["evaluate_requested"], handle, failure_stage="evaluate"))


if __name__ == "__main__":
    main()
