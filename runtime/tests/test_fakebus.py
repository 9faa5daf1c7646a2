"""The Service pipeline on FakeBus: envelope filling, retries and error routing."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from impact_runtime import (
    ComponentError,
    ConfigError,
    ContractViolation,
    Incoming,
    Outgoing,
    Output,
    RetryableError,
    ServiceSettings,
)
from impact_schemas.catalog import event_spec

from runtime.tests.fakebus_helpers import REQUEST, completed, make_bus


async def test_output_gets_envelope_from_its_cause(settings: ServiceSettings) -> None:
    bus = make_bus(settings, completed)
    produced = await bus.publish("measure_requested", dict(REQUEST), key="run-1:init-7")
    assert len(produced) == 1
    out = produced[0]
    assert out.topic == "impact.measure.completed.v1"
    assert out.event == "measure_completed"
    assert out.key == "run-1"
    request = out.value
    assert request["doubled"] == 6
    assert request["initiative_id"] == "init-7"
    assert request["run_id"] == "run-1"
    assert request["schema_version"] == event_spec("measure_completed").version
    assert uuid.UUID(request["event_id"]).version == 4
    assert request["causation_id"] is not None
    assert request["causation_id"] != request["event_id"]
    assert out.headers == {
        "run_id": "run-1",
        "event_id": request["event_id"],
        "causation_id": request["causation_id"],
        "schema_version": event_spec("measure_completed").version,
    }
    assert bus.dlq == []


async def test_causation_id_is_the_incoming_event_id(settings: ServiceSettings) -> None:
    seen: list[str] = []

    def handle(incoming: Incoming) -> list[Output]:
        seen.append(incoming.value["event_id"])
        assert incoming.headers["event_id"] == incoming.value["event_id"]
        return completed(incoming)

    bus = make_bus(settings, handle)
    [out] = await bus.publish("measure_requested", dict(REQUEST))
    assert out.value["causation_id"] == seen[0]


async def test_fields_set_by_the_handler_win(settings: ServiceSettings) -> None:
    def handle(incoming: Incoming) -> list[Output]:
        value = {"run_id": "other-run", "event_id": "fixed-id", "causation_id": "c-9"}
        return [Outgoing("measure_completed", "other-run", value)]

    bus = make_bus(settings, handle)
    [out] = await bus.publish("measure_requested", dict(REQUEST))
    assert (out.value["run_id"], out.value["event_id"], out.value["causation_id"]) == (
        "other-run",
        "fixed-id",
        "c-9",
    )


async def test_sync_handler_runs_in_a_worker_thread(settings: ServiceSettings) -> None:
    threads: list[str] = []

    def handle(incoming: Incoming) -> list[Output]:
        threads.append(threading.current_thread().name)
        return []

    async def handle_async(incoming: Incoming) -> list[Output]:
        threads.append(threading.current_thread().name)
        return []

    await make_bus(settings, handle).publish("measure_requested", dict(REQUEST))
    await make_bus(settings, handle_async).publish("measure_requested", dict(REQUEST))
    main = threading.current_thread().name
    assert threads[0] != main
    assert threads[1] == main


async def test_retryable_error_is_retried_with_exponential_backoff(
    settings: ServiceSettings,
) -> None:
    calls = 0

    def flaky(incoming: Incoming) -> list[Output]:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise RetryableError("registry down")
        return completed(incoming)

    bus = make_bus(settings, flaky)
    produced = await bus.publish("measure_requested", dict(REQUEST))
    assert calls == 3
    assert bus.sleeps == [0.2, 0.4]
    assert [p.event for p in produced] == ["measure_completed"]
    assert bus.dlq == []
    retried = bus.service.metrics.registry.get_sample_value(
        "impact_messages_retried_total", {"topic": "impact.measure.requested.v1"}
    )
    assert retried == 2.0


async def test_exhausted_retries_go_to_the_dlq(settings: ServiceSettings) -> None:
    calls = 0

    def down(incoming: Incoming) -> list[Output]:
        nonlocal calls
        calls += 1
        raise RetryableError("still down")

    bus = make_bus(settings, down)
    await bus.publish("measure_requested", dict(REQUEST))
    assert calls == 4  # first try + max_retries=3
    assert bus.sleeps == [0.2, 0.4, 0.8]
    [dead] = bus.dlq
    assert dead.topic == "impact.measure.requested.v1.dlq"
    assert dead.headers["dlq.error_type"] == "RetriesExhausted"
    assert dead.headers["dlq.reason"] == (
        "RetriesExhausted: gave up after 4 attempts: RetryableError: still down"
    )


async def test_backoff_is_capped() -> None:
    settings = ServiceSettings(
        service_name="unit",
        bootstrap_servers="127.0.0.1:1",
        max_retries=4,
        retry_backoff_s=0.2,
        retry_backoff_max_s=0.5,
    )

    def down(incoming: Incoming) -> list[Output]:
        raise RetryableError("down")

    bus = make_bus(settings, down)
    await bus.publish("measure_requested", dict(REQUEST))
    assert bus.sleeps == [0.2, 0.4, 0.5, 0.5]


@pytest.mark.parametrize("error", [ComponentError("no data"), ConfigError("unknown model")])
async def test_permanent_error_becomes_stage_failed(
    settings: ServiceSettings, error: Exception
) -> None:
    def fail(incoming: Incoming) -> list[Output]:
        raise error

    bus = make_bus(settings, fail, failure_stage="measure")
    [out] = await bus.publish("measure_requested", dict(REQUEST))
    assert out.topic == "impact.stage.failed.v1"
    assert out.key == "run-1"
    assert {
        k: out.value[k] for k in ("stage", "initiative_id", "phase", "reason", "error_type")
    } == {
        "stage": "measure",
        "initiative_id": "init-7",
        "phase": "pilot",
        "reason": str(error),
        "error_type": type(error).__name__,
    }
    assert out.value["run_id"] == "run-1"
    assert bus.dlq == []
    assert bus.sleeps == []


async def test_permanent_error_without_failure_stage_goes_to_the_dlq(
    settings: ServiceSettings,
) -> None:
    def fail(incoming: Incoming) -> list[Output]:
        raise ComponentError("model failed")

    bus = make_bus(settings, fail)
    [dead] = await bus.publish("measure_requested", dict(REQUEST), key="run-1:init-7")
    assert dead.key == "run-1:init-7"
    assert dead.headers["dlq.reason"] == "ComponentError: model failed"
    assert dead.headers["dlq.error_type"] == "ComponentError"
    assert dead.headers["dlq.source_topic"] == "impact.measure.requested.v1"
    assert dead.headers["dlq.partition"] == "0"
    assert dead.headers["dlq.offset"] == "0"
    assert dead.headers["dlq.service"] == "unit"
    assert dead.headers["run_id"] == "run-1"  # original headers are kept
    original = await bus.codec.decode(dead.value, "impact.measure.requested.v1")
    assert original["x"] == 3


async def test_contract_violation_from_the_handler_is_dead_lettered_and_reported(
    settings: ServiceSettings,
) -> None:
    def fail(incoming: Incoming) -> list[Output]:
        raise ContractViolation("ci_lower > ci_upper")

    bus = make_bus(settings, fail, failure_stage="measure")
    [dead, failed] = await bus.publish("measure_requested", dict(REQUEST))
    assert dead.topic == "impact.measure.requested.v1.dlq"
    assert dead.headers["dlq.error_type"] == "ContractViolation"
    assert failed.event == "stage_failed"
    assert (failed.value["reason"], failed.value["error_type"]) == (
        "ci_lower > ci_upper",
        "ContractViolation",
    )


async def test_unexpected_exception_without_failure_stage_goes_to_the_dlq_with_frames(
    settings: ServiceSettings,
) -> None:
    def buggy_handler(incoming: Incoming) -> list[Output]:
        raise KeyError("missing")

    bus = make_bus(settings, buggy_handler)
    [dead] = await bus.publish("measure_requested", dict(REQUEST))
    reason = dead.headers["dlq.reason"]
    assert reason.startswith("unexpected KeyError: 'missing' at buggy_handler (")
    assert "test_fakebus.py:" in reason
    assert dead.headers["dlq.error_type"] == "KeyError"


async def test_a_command_without_run_id_cannot_be_reported_and_is_dead_lettered(
    settings: ServiceSettings,
) -> None:
    def fail(incoming: Incoming) -> list[Output]:
        raise ComponentError("no data")

    bus = make_bus(settings, fail, failure_stage="measure")
    no_run = {k: v for k, v in REQUEST.items() if k != "run_id"}
    [dead] = await bus.publish_raw("impact.measure.requested.v1", json.dumps(no_run).encode())
    assert dead.headers["dlq.reason"] == "ComponentError: no data"
    assert bus.events("stage_failed") == []


async def test_poison_bytes_go_to_the_dlq_and_the_next_message_is_processed(
    settings: ServiceSettings,
) -> None:
    bus = make_bus(settings, completed)
    topic = "impact.measure.requested.v1"
    [dead] = await bus.publish_raw(topic, b"\x00\x00\x00\x00\x07garbage", key="k")
    assert dead.topic == f"{topic}.dlq"
    assert dead.value == b"\x00\x00\x00\x00\x07garbage"
    assert dead.headers["dlq.error_type"] == "SchemaMismatch"
    assert dead.headers["dlq.reason"].startswith("SchemaMismatch: not a JSON document")
    [tombstone] = await bus.publish_raw(topic, None, key="k")
    assert tombstone.headers["dlq.reason"] == (
        "SchemaMismatch: tombstone (null value) on an event topic"
    )
    [out] = await bus.publish("measure_requested", dict(REQUEST))
    assert out.value["doubled"] == 6
    assert bus.sleeps == []


async def test_unknown_topic_goes_to_the_dlq(settings: ServiceSettings) -> None:
    bus = make_bus(settings, completed)
    [dead] = await bus.publish_raw("impact.nonsense.v1", b"{}")
    assert dead.topic == "impact.nonsense.v1.dlq"
    assert dead.headers["dlq.error_type"] == "ConfigError"


async def test_wrong_return_type_goes_to_the_dlq(settings: ServiceSettings) -> None:
    def handle(incoming: Incoming):
        return [{"not": "an Outgoing"}]

    bus = make_bus(settings, handle)
    [dead] = await bus.publish("measure_requested", dict(REQUEST))
    assert dead.headers["dlq.reason"].startswith(
        "unexpected TypeError: handler returned dict, not an Outgoing or a Directive"
    )
