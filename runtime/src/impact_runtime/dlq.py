"""Dead-letter records: the original bytes plus headers saying why.

A DLQ copy must always be producible, or the service would crash on the poison again
after every restart. When the original record plus the ``dlq.*`` headers exceeds the
producer's request limit, the copy keeps a head of the value (``TRUNCATED_VALUE_BYTES``)
and says so: ``dlq.value_bytes`` (the original length) and ``dlq.value_sha256``; the
original stays on ``dlq.source_topic`` at ``dlq.partition``/``dlq.offset`` for its retention.
"""

from __future__ import annotations

import hashlib

from aiokafka.record.default_records import DefaultRecordBatchBuilder
from impact_kafka.config import DEFAULT_MAX_MESSAGE_BYTES

from impact_runtime.failures import failure_reason
from impact_runtime.structs import ProducerRecord, RawMessage

Headers = tuple[tuple[str, bytes], ...]

DLQ_SUFFIX = ".dlq"
#: How much of an oversized value its DLQ copy keeps (the wire header and the start).
TRUNCATED_VALUE_BYTES = 64 * 1024
#: How much of an oversized key its DLQ copy keeps.
TRUNCATED_KEY_BYTES = 1024


def dlq_topic(source_topic: str) -> str:
    """``<source topic>.dlq``."""
    return f"{source_topic}{DLQ_SUFFIX}"


def dead_letter(
    message: RawMessage,
    exc: BaseException,
    service: str,
    max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> ProducerRecord:
    """The DLQ record for ``message`` that failed with ``exc``, at most ``max_bytes``
    (the producer's ``max_request_size``) as aiokafka estimates it."""
    extra = {
        "dlq.reason": failure_reason(exc),
        "dlq.error_type": type(exc).__name__,
        "dlq.source_topic": message.topic,
        "dlq.partition": str(message.partition),
        "dlq.offset": str(message.offset),
        "dlq.service": service,
    }
    topic, key, value = dlq_topic(message.topic), message.key, message.value
    headers = message.headers + _encoded(extra)
    if record_bytes(key, value, headers) <= max_bytes:
        return ProducerRecord(topic, key, value, headers)
    original = value or b""
    extra["dlq.value_bytes"] = str(len(original))
    extra["dlq.value_sha256"] = hashlib.sha256(original).hexdigest()
    head = original[:TRUNCATED_VALUE_BYTES]
    headers = message.headers + _encoded(extra)
    if record_bytes(key, head, headers) <= max_bytes:
        return ProducerRecord(topic, key, head, headers)
    # Still too large: the original headers or key are the bulk; keep only ours.
    extra["dlq.headers_dropped"] = str(len(message.headers))
    short_key = key[:TRUNCATED_KEY_BYTES] if key is not None else None
    return ProducerRecord(topic, short_key, head[:TRUNCATED_KEY_BYTES], _encoded(extra))


def record_bytes(key: bytes | None, value: bytes | None, headers: Headers) -> int:
    """aiokafka's upper bound of a record's size, as its producer checks it."""
    return DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, list(headers))


def _encoded(extra: dict[str, str]) -> Headers:
    return tuple((name, value.encode()) for name, value in extra.items())
