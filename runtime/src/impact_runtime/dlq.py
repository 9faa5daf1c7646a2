"""Dead-letter records: the original bytes plus headers saying why."""

from __future__ import annotations

from impact_runtime.failures import failure_reason
from impact_runtime.structs import ProducerRecord, RawMessage

DLQ_SUFFIX = ".dlq"


def dlq_topic(source_topic: str) -> str:
    """``<source topic>.dlq``."""
    return f"{source_topic}{DLQ_SUFFIX}"


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
