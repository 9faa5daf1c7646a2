"""Dead-letter records: the original bytes plus headers saying why."""

from __future__ import annotations

import traceback

from impact_contracts import ImpactError

from impact_runtime.structs import ProducerRecord, RawMessage

DLQ_SUFFIX = ".dlq"
MAX_REASON_CHARS = 4000


def dlq_topic(source_topic: str) -> str:
    """``<source topic>.dlq``."""
    return f"{source_topic}{DLQ_SUFFIX}"


def failure_reason(exc: BaseException) -> str:
    """``Type: message``; unexpected (non-Impact) errors add a short traceback."""
    reason = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, ImpactError):
        frames = traceback.extract_tb(exc.__traceback__)[-3:]
        where = " <- ".join(f"{f.name} ({f.filename}:{f.lineno})" for f in reversed(frames))
        reason = f"unexpected {reason}" + (f" at {where}" if where else "")
    return reason[:MAX_REASON_CHARS]


def dead_letter(message: RawMessage, exc: BaseException, service: str) -> ProducerRecord:
    """The DLQ record for ``message`` that failed with ``exc``."""
    extra = {
        "dlq.reason": failure_reason(exc),
        "dlq.error_type": type(exc).__name__,
        "dlq.source_topic": message.topic,
        "dlq.partition": str(message.partition),
        "dlq.offset": str(message.offset),
        "dlq.service": service,
    }
    headers = message.headers + tuple((k, v.encode()) for k, v in extra.items())
    return ProducerRecord(dlq_topic(message.topic), message.key, message.value, headers)
