"""Pure parts: retry policy, DLQ naming, health responses, envelope headers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from impact_runtime import ComponentError, RetryableError
from impact_runtime.dlq import dead_letter, dlq_topic, failure_reason, record_bytes
from impact_runtime.envelope import envelope_headers
from impact_runtime.health import HealthServer, health_app
from impact_runtime.retry import RetriesExhausted, RetryPolicy, call_with_retry
from impact_runtime.structs import RawMessage
from starlette.testclient import TestClient


def test_retry_delays_double_and_cap() -> None:
    policy = RetryPolicy(max_retries=6, base_delay_s=0.2, max_delay_s=1.0)
    assert [policy.delay(n) for n in range(6)] == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


async def test_non_retriable_errors_are_not_retried() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    async def action() -> int:
        calls.append(1)
        raise ComponentError("nope")

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    with pytest.raises(ComponentError):
        await call_with_retry(action, RetryPolicy(3, 0.1, 1.0), sleep)
    assert (len(calls), sleeps) == (1, [])


async def test_zero_retries_gives_up_after_one_attempt() -> None:
    async def action() -> int:
        raise RetryableError("down")

    async def sleep(delay: float) -> None:
        raise AssertionError("must not sleep")

    with pytest.raises(RetriesExhausted) as caught:
        await call_with_retry(action, RetryPolicy(0, 0.1, 1.0), sleep)
    assert caught.value.attempts == 1


def test_dlq_names_and_reasons() -> None:
    assert dlq_topic("impact.measure.requested.v1") == "impact.measure.requested.v1.dlq"
    assert failure_reason(ComponentError("no data")) == "ComponentError: no data"
    assert failure_reason(ValueError("x")) == "unexpected ValueError: x"


def test_envelope_headers_skip_missing_ids() -> None:
    value = {"run_id": "r", "event_id": "e", "causation_id": None, "schema_version": "1.2"}
    assert envelope_headers(value) == (
        ("run_id", b"r"),
        ("event_id", b"e"),
        ("schema_version", b"1.2"),
    )


@pytest.mark.parametrize(
    ("path", "ready", "status", "body"),
    [
        ("/healthz", False, 200, b"ok\n"),
        ("/readyz", False, 503, b"not ready\n"),
        ("/readyz", True, 200, b"ready\n"),
        ("/readyz?verbose=1", True, 200, b"ready\n"),
        ("/metrics", False, 200, b"m 1\n"),
        ("/other", True, 404, b"not found\n"),
    ],
)
def test_health_responses(path: str, ready: bool, status: int, body: bytes) -> None:
    with TestClient(health_app(lambda: ready, lambda: b"m 1\n")) as client:
        response = client.get(path)
    assert (response.status_code, response.content) == (status, body)
    assert response.headers["connection"] == "close"


async def test_health_server_answers_on_its_port_and_closes_the_connection() -> None:
    server = HealthServer("127.0.0.1", 0, lambda: True, lambda: b"m 1\n")
    await server.start()
    port = server.port
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        response = await asyncio.wait_for(reader.read(), timeout=5)  # EOF: closed
        writer.close()
    finally:
        await server.stop()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.split()[1] == b"200"
    assert b"content-type: text/plain; version=" in head.lower()
    assert body == b"m 1\n"
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)  # stopped: refused


async def test_health_server_reports_a_taken_port() -> None:
    first = HealthServer("127.0.0.1", 0, lambda: True, lambda: b"")
    await first.start()
    try:
        with pytest.raises(OSError):
            await HealthServer("127.0.0.1", first.port, lambda: True, lambda: b"").start()
    finally:
        await first.stop()


def test_raw_records_are_coalesced_per_key_and_lazy_values_resolved_once() -> None:
    from impact_runtime.structs import ProducerRecord, coalesce_raw

    calls: list[str] = []

    def lazy(text: str) -> Callable[[], bytes]:
        def value() -> bytes:
            calls.append(text)
            return text.encode()

        return value

    records = [
        ProducerRecord("events", b"r1", b"e1"),
        ProducerRecord("changelog", b"r1", lazy("s1"), managed=False),
        ProducerRecord("changelog", b"r2", lazy("t1"), managed=False),
        ProducerRecord("events", b"r1", b"e2"),
        ProducerRecord("changelog", b"r1", lazy("s2"), managed=False),
    ]
    kept = coalesce_raw(records)
    assert [(r.topic, r.key, r.value) for r in kept] == [
        ("events", b"r1", b"e1"),
        ("changelog", b"r2", b"t1"),
        ("events", b"r1", b"e2"),
        ("changelog", b"r1", b"s2"),
    ]
    assert calls == ["t1", "s2"]  # the superseded state s1 was never serialised


def test_a_dead_letter_always_fits_the_producer_limit() -> None:
    limit = 64 * 1024
    small = RawMessage("t", 0, 7, b"k", b"v" * 100, (("h", b"x"),))
    huge_value = RawMessage("t", 1, 8, b"k", b"v" * (2 * limit), (("h", b"x"),))
    huge_headers = RawMessage("t", 2, 9, b"k" * limit, b"v", (("h", b"x" * limit),))
    kept, truncated, stripped = (
        dead_letter(message, ValueError("bad"), "svc", limit)
        for message in (small, huge_value, huge_headers)
    )
    assert (kept.value, kept.headers[0]) == (small.value, ("h", b"x"))
    assert "dlq.value_bytes" not in dict(kept.headers)
    assert dict(truncated.headers)["dlq.value_bytes"] == str(2 * limit).encode()
    assert isinstance(truncated.value, bytes) and isinstance(huge_value.value, bytes)
    assert truncated.value == huge_value.value[: len(truncated.value)]
    assert dict(stripped.headers)["dlq.headers_dropped"] == b"1"
    assert "h" not in dict(stripped.headers) and stripped.key == b"k" * 1024
    for record in (kept, truncated, stripped):
        assert isinstance(record.value, bytes)
        assert record_bytes(record.key, record.value, record.headers) <= limit
        assert dict(record.headers)["dlq.reason"] == b"unexpected ValueError: bad"
