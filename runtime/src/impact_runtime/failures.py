"""What becomes of a command its handler could not complete (pure: no Kafka, no I/O).

One routing rule for the Kafka runtime and for embedded mode, so the two cannot drift:

- every failure of a valid command ends its initiative (or run) with a ``stage_failed``
  payload naming the stage, the reason and the error type, so no run waits for a deadline;
- a command that breaks its contract (``SchemaMismatch``/``ContractViolation``) can never
  succeed as sent, so the runtime also keeps it on the DLQ (``dead_letters``).

Outages (registry, broker) never get here: the runtime waits them out (``outage.py``).
"""

from __future__ import annotations

import traceback
from typing import Any

from impact_contracts import ContractViolation, ImpactError, SchemaMismatch

STAGE_FAILED = "stage_failed"
MAX_REASON_CHARS = 4000


def failure_reason(exc: BaseException) -> str:
    """``Type: message``; unexpected (non-Impact) errors add their innermost frames."""
    reason = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, ImpactError):
        frames = traceback.extract_tb(exc.__traceback__)[-3:]
        where = " <- ".join(f"{f.name} ({f.filename}:{f.lineno})" for f in reversed(frames))
        reason = f"unexpected {reason}" + (f" at {where}" if where else "")
    return reason[:MAX_REASON_CHARS]


def dead_letters(exc: BaseException) -> bool:
    """Whether the input itself is bad (kept on the DLQ besides the ``stage_failed``)."""
    return isinstance(exc, SchemaMismatch | ContractViolation)


def stage_failure(stage: str, command: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    """The ``stage_failed`` payload for ``command`` of ``stage`` that raised ``exc``.

    Impact errors carry their own message as the reason; anything unexpected (a component
    bug such as ``IndexError``) gets ``unexpected <Type>: <msg> at <frames>``.
    """
    return {
        "stage": stage,
        "initiative_id": command.get("initiative_id"),
        "phase": command.get("phase"),
        "reason": str(exc) if isinstance(exc, ImpactError) else failure_reason(exc),
        "error_type": type(exc).__name__,
    }
