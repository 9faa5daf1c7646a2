"""EVALUATE service: scores confidence in one pilot measurement per command.

Consumes ``evaluate_requested`` (key ``run_id:initiative_id``).
Produces ``evaluate_completed`` (key ``run_id``), or ``stage_failed`` when the command
cannot be completed. Start with ``python -m impact_evaluate.service``.
"""

from __future__ import annotations

from impact_runtime import Service, ServiceSettings, run_service
from impact_runtime.stage import stage_handler

from impact_evaluate.handler import STAGE, EvaluateHandler


class Settings(ServiceSettings):
    service_name: str = "evaluate"


#: Command in, ``evaluate_completed`` out (``impact_evaluate.handler``).
handle = stage_handler(EvaluateHandler())


def main() -> None:
    # scoring one command takes well under a millisecond: no worker thread hop
    service = Service(
        Settings(), ["evaluate_requested"], handle, failure_stage=STAGE, handler_in_thread=False
    )
    run_service(service)


if __name__ == "__main__":
    main()
