"""EVALUATE service: scores confidence in one pilot measurement per command.

Consumes ``evaluate_requested`` (key ``run_id:initiative_id``).
Produces ``evaluate_completed`` (key ``run_id``), or ``stage_failed`` when the command
cannot be completed. Start with ``python -m impact_evaluate.service``.
"""

from __future__ import annotations

from impact_runtime import ServiceSettings
from impact_runtime.stage_handler import run_stage

from impact_evaluate.handler import EvaluateHandler


class Settings(ServiceSettings):
    service_name: str = "evaluate"


def main() -> None:
    run_stage(Settings(), EvaluateHandler())


if __name__ == "__main__":
    main()
