"""The Service pipeline on FakeBus: envelope filling, retries and error routing."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import pytest
from impact_runtime import (
    ComponentError,
    ConfigError,
    ContractViolation,
    FakeBus,
    Incoming,
    Outgoing,
    Output,
    RetryableError,
    Service,
    ServiceSettings,
)
from impact_runtime.encoding import ENCODE_YIELD_EVERY
from impact_schemas.catalog import event_spec

from runtime.tests.cases import FlakyCodec

REQUEST = {"run_id": "run-1", "initiative_id": "init-7", "phase": "pilot", "x": 3}


def completed(incoming: Incoming) -> list[Output]:
    value = {"initiative_id": incoming.value["initiative_id"], "doubled": incoming.value["x"] * 2}
    return [Outgoing("measure_completed", incoming.value["run_id"], value)]


def make_bus(settings: ServiceSettings, handle, *, tick=None, state=None, **kwargs) -> FakeBus:
    service = Service(settings, ["measure_requested"], handle, **kwargs)
    service.tick, service.state = tick, state
    return FakeBus(service)


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


async def test_tick_outputs_are_encoded_like_handler_outputs(settings: ServiceSettings) -> None:
    def tick(now: float) -> list[Output]:
        value = {"run_id": "run-9", "stage": "deadline", "now": now}
        return [Outgoing("run_status", "run-9", value)]

    bus = make_bus(settings, completed, tick=tick)
    [out] = await bus.tick(1234.5)
    assert out.topic == "impact.run.status.v1"
    assert out.value["now"] == 1234.5
    assert out.value["causation_id"] is None
    assert out.headers["run_id"] == "run-9"
    assert "causation_id" not in out.headers


class Recorder:
    """Handler state hooks that record what the runtime told them."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def commit(self) -> None:
        self.calls.append("commit")

    def rollback(self) -> None:
        self.calls.append("rollback")


async def test_handler_state_commits_after_each_delivered_batch(settings: ServiceSettings) -> None:
    state = Recorder()
    bus = make_bus(settings, completed, state=state)
    await bus.publish("measure_requested", dict(REQUEST))
    await bus.publish_raw("impact.measure.requested.v1", b"poison")
    assert state.calls == ["commit", "commit"]


@pytest.mark.parametrize(
    ("broken", "error_type"),
    [("raises", "RuntimeError"), ("no_run_id", "ContractViolation")],
)
async def test_a_failing_tick_rolls_the_state_back_and_fires_again(
    settings: ServiceSettings, broken: str, error_type: str
) -> None:
    state = Recorder()
    ticks: list[float] = []

    def tick(now: float) -> list[Output]:
        ticks.append(now)
        if len(ticks) == 1 and broken == "raises":
            raise RuntimeError("bug in the deadline check")
        run_id = "" if len(ticks) == 1 else "run-9"
        return [Outgoing("run_status", "run-9", {"run_id": run_id, "stage": "deadline"})]

    bus = make_bus(settings, completed, tick=tick, state=state)
    assert await bus.tick(1.0) == []
    assert state.calls == ["rollback"]
    [out] = await bus.tick(2.0)
    assert out.value["run_id"] == "run-9"
    assert state.calls == ["rollback", "commit"]
    failed = bus.service.metrics.registry.get_sample_value(
        "impact_messages_failed_total", {"topic": "tick", "error_type": error_type}
    )
    assert failed == 1.0


async def test_outage_backoff_is_capped_exponential_and_unbounded(
    settings: ServiceSettings,
) -> None:
    codec = FlakyCodec(8)
    bus = FakeBus(Service(settings, ["measure_requested"], completed, codec=codec))
    [out] = await bus.publish("measure_requested", dict(REQUEST))
    assert out.value["doubled"] == 6
    assert bus.sleeps == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]  # 8 > max_retries=3
    assert not bus.pipeline.outages.waiting


async def test_metrics_count_processed_and_dead_lettered(settings: ServiceSettings) -> None:
    bus = make_bus(settings, completed)
    topic = "impact.measure.requested.v1"
    await bus.publish("measure_requested", dict(REQUEST))
    await bus.publish("measure_requested", dict(REQUEST))
    await bus.publish_raw(topic, b"nope")
    registry = bus.service.metrics.registry
    assert registry.get_sample_value("impact_messages_processed_total", {"topic": topic}) == 2.0
    assert registry.get_sample_value("impact_messages_dlq_total", {"topic": topic}) == 1.0
    assert (
        registry.get_sample_value(
            "impact_messages_failed_total", {"topic": topic, "error_type": "SchemaMismatch"}
        )
        == 1.0
    )
    assert registry.get_sample_value("impact_handler_seconds_count", {"topic": topic}) == 2.0
    assert registry.get_sample_value("impact_batches_delivered_total") == 3.0


async def test_a_sync_handlers_cpu_seconds_are_its_own_threads(settings: ServiceSettings) -> None:
    """The handler CPU counter takes the handler thread's CPU clock: a handler that sleeps
    0.2 s counts ~0 s, one that spins 0.2 s on the CPU counts ~0.2 s."""

    def sleeping(msg: Incoming) -> list[Output]:
        time.sleep(0.2)
        return completed(msg)

    def spinning(msg: Incoming) -> list[Output]:
        started = time.thread_time()
        while time.thread_time() - started < 0.2:
            pass
        return completed(msg)

    topic = "impact.measure.requested.v1"
    counted = []
    for handler in (sleeping, spinning):
        bus = make_bus(settings, handler)
        await bus.publish("measure_requested", dict(REQUEST))
        registry = bus.service.metrics.registry
        counted.append(
            registry.get_sample_value("impact_handler_cpu_seconds_total", {"topic": topic})
        )
    assert counted[0] is not None and counted[0] < 0.05
    assert counted[1] is not None and 0.2 <= counted[1] < 0.3


async def test_a_large_fan_out_is_encoded_without_blocking_the_event_loop(
    settings: ServiceSettings,
) -> None:
    """The consumer's heartbeat is a coroutine on the same loop: encoding 20,000 outputs
    in one go (a manifest's fan-out) must let it run (decision 0045)."""
    fan_out = 20_000

    async def handle(incoming: Incoming) -> list[Outgoing]:
        run_id = incoming.value["run_id"]
        return [Outgoing("measure_completed", run_id, {"n": n}) for n in range(fan_out)]

    turns = 0
    done = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    beating = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)
    produced = await make_bus(settings, handle).publish("measure_requested", dict(REQUEST))
    done.set()
    await beating
    assert len(produced) == fan_out
    assert turns >= fan_out // ENCODE_YIELD_EVERY


@pytest.mark.parametrize("in_thread", [True, False])
async def test_a_sync_handler_runs_in_a_worker_thread_unless_told_it_is_cheap(
    settings: ServiceSettings, in_thread: bool
) -> None:
    threads: list[int] = []

    def handle(incoming: Incoming) -> list[Output]:
        threads.append(threading.get_ident())
        return completed(incoming)

    options = {} if in_thread else {"handler_in_thread": False}
    bus = make_bus(settings, handle, **options)
    produced = await bus.publish("measure_requested", dict(REQUEST), key="run-1:init-7")
    assert [out.value["doubled"] for out in produced] == [6]
    assert len(threads) == 1
    assert (threads[0] != threading.get_ident()) is in_thread
