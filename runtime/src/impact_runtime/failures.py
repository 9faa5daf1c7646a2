"""What becomes of a command its handler could not complete (pure: no Kafka, no I/O).

One routing rule for the Kafka runtime and for embedded mode, so the two cannot drift:

- every failure of a valid command ends it with the service's failure event (a stage's
  ``stage_failed``, built in ``stage.py``), so nothing waits for a deadline;
- a command that breaks its contract (``SchemaMismatch``/``ContractViolation``) can never
  succeed as sent, so the runtime also keeps it on the DLQ (``dead_letters``).

Outages (registry, broker) never get here: the runtime waits them out (``outage.py``).
"""

from __future__ import annotations

import os
import sysconfig
import traceback

from impact_contracts import ContractViolation, ImpactError, PermanentError, SchemaMismatch

MAX_REASON_CHARS = 4000


class HandlerTimedOut(PermanentError):
    """A handler ran longer than ``IMPACT_HANDLER_TIMEOUT_S``: its command fails, never
    holding its partition (or being replayed) for ever (decision 0079)."""

    def __init__(self, limit_s: float) -> None:
        super().__init__(
            f"handler ran longer than {limit_s:g} s (IMPACT_HANDLER_TIMEOUT_S); "
            "its result, if any, is discarded"
        )


def failure_reason(exc: BaseException) -> str:
    """``Type: message``; unexpected (non-Impact) errors add where they were raised."""
    reason = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, ImpactError):
        where = " <- ".join(f"{f.name} ({f.filename}:{f.lineno})" for f in _own_frames(exc))
        reason = f"unexpected {reason}" + (f" at {where}" if where else "")
    return reason[:MAX_REASON_CHARS]


def _own_frames(exc: BaseException, limit: int = 3) -> list[traceback.FrameSummary]:
    """The innermost frames of the handler and component, up to ``limit``. Walking outwards
    stops at the runtime's own frames (and at the standard library's once past the
    handler's), so Kafka and embedded mode, which call a handler differently, agree."""
    frames: list[traceback.FrameSummary] = []
    own = False
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        stdlib = frame.filename.startswith(_STDLIB)
        if frame.filename.startswith(_RUNTIME) or (stdlib and own) or len(frames) == limit:
            break
        own = own or not stdlib
        frames.append(frame)
    return frames


_RUNTIME = os.path.dirname(os.path.abspath(__file__)) + os.sep
_STDLIB = sysconfig.get_paths()["stdlib"] + os.sep


def dead_letters(exc: BaseException) -> bool:
    """Whether the input itself is bad (kept on the DLQ besides the ``stage_failed``)."""
    return isinstance(exc, SchemaMismatch | ContractViolation)
