"""The Service pipeline on FakeBus: ticks, handler state, outage backoff, metrics and
where a sync handler runs (worker thread, CPU clock, fan-out without blocking)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from impact_runtime import (
    FakeBus,
    Incoming,
    Outgoing,
    Output,
    Service,
    ServiceSettings,
)
from impact_runtime.calls import on_event_loop
from impact_runtime.encoding import ENCODE_YIELD_EVERY

from runtime.tests.cases import FlakyCodec
from runtime.tests.fakebus_helpers import REQUEST, completed, make_bus


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

    bus = make_bus(settings, handle if in_thread else on_event_loop(handle))
    produced = await bus.publish("measure_requested", dict(REQUEST), key="run-1:init-7")
    assert [out.value["doubled"] for out in produced] == [6]
    assert len(threads) == 1
    assert (threads[0] != threading.get_ident()) is in_thread
