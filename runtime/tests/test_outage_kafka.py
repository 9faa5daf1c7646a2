"""Dependencies that go down are waited out, never a reason to dead-letter a valid event:
a registry restart and a broker killed for 20 s, with a real registry and a real broker."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from impact_runtime import Incoming, JsonCodec, Outgoing, Output, Service
from impact_schemas.codec import AvroCodec
from impact_schemas.examples import example
from impact_schemas.registry.client import RegistryClient

from runtime.tests.kafka_io import (
    CommittedReader,
    as_json,
    http_get,
    isolated_settings,
    produce,
    read_all,
    request,
)
from runtime.tests.outages import Broker, Registry, sleep_outage
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration


def measured(incoming: Incoming) -> list[Output]:
    result = example("measure_completed")["result"]
    value = {"initiative_id": incoming.value["initiative_id"], "phase": "pilot", "result": result}
    return [Outgoing("measure_completed", incoming.value["run_id"], value)]


def slow_double(incoming: Incoming) -> list[Output]:
    time.sleep(0.2)  # a real component takes time: batches are in flight when Kafka dies
    value = {"initiative_id": incoming.value["initiative_id"], "doubled": 2 * incoming.value["x"]}
    return [Outgoing("measure_completed", incoming.value["run_id"], value)]


def sample(service: Service, name: str, dependency: str) -> float:
    value = service.metrics.registry.get_sample_value(name, {"dependency": dependency})
    return value or 0.0


async def test_a_registry_restart_is_waited_out_and_nothing_is_dead_lettered(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    registry = Registry(kafka_bootstrap, f"_schemas-{uuid.uuid4().hex}", tmp_path)
    registry.start()
    await registry.wait_ready()
    settings = isolated_settings(
        kafka_bootstrap,
        schema_registry_url=registry.url,
        max_retries=1,  # before: 1 retry, then the valid event went to the DLQ
        retry_backoff_s=0.05,
        retry_backoff_max_s=0.5,
    )
    source = f"{settings.topic_prefix}measure.requested.v1"
    sink = f"{settings.topic_prefix}measure.completed.v1"
    good = example("measure_requested")
    async with RegistryClient(registry.url) as client:
        data = await AvroCodec(client).encode("measure_requested", good, source)
    registry.stop()
    try:
        service = Service(settings, ["measure_requested"], measured, failure_stage="measure")
        async with service:  # the default AvroCodec, on the stopped registry
            await wait_for(service.ready.is_set, timeout=60)
            await produce(kafka_bootstrap, source, [("k", data)])
            await wait_for(
                lambda: sample(service, "impact_dependency_backoff_total", "schema_registry") >= 3,
                timeout=30,
            )
            assert await http_get(service.http_port, "/readyz") == (503, "not ready\n")
            assert sample(service, "impact_dependency_waiting", "schema_registry") == 1.0
            await sleep_outage(3.0)
            registry.start()
            async with CommittedReader(kafka_bootstrap, sink) as reader:
                [out] = await reader.wait_count(1, timeout=60)
            await wait_for(service.is_ready, timeout=10)
            assert sample(service, "impact_dependency_waiting", "schema_registry") == 0.0
            async with RegistryClient(registry.url) as client:
                decoded = await AvroCodec(client).decode(out.value, sink)
    finally:
        registry.stop()
    assert await read_all(kafka_bootstrap, f"{source}.dlq") == []
    assert await read_all(kafka_bootstrap, f"{settings.topic_prefix}stage.failed.v1") == []
    assert decoded["causation_id"] == good["event_id"]
    assert decoded["result"]["effect_estimate"] == 12.1


async def test_a_broker_down_for_20_s_is_waited_out_exactly_once(tmp_path: Path) -> None:
    broker = Broker(tmp_path)
    broker.start()
    try:
        settings = isolated_settings(
            broker.bootstrap,
            topic_partitions=1,
            max_poll_records=2,
            retry_backoff_max_s=1.0,
            delivery_stall_s=1.0,
            transactional_id=f"outage-{uuid.uuid4().hex[:8]}",
        )
        source = f"{settings.topic_prefix}measure.requested.v1"
        sink = f"{settings.topic_prefix}measure.completed.v1"
        inputs: list[tuple[str | None, bytes | None]] = [
            ("k", as_json(request("run-o", x))) for x in range(1, 31)
        ]
        service = Service(settings, ["measure_requested"], slow_double, codec=JsonCodec())
        async with service:
            await wait_for(service.is_ready, timeout=60)
            await produce(broker.bootstrap, source, inputs)
            async with CommittedReader(broker.bootstrap, sink) as reader:
                await reader.wait_count(4, timeout=60)
            broker.kill()
            await wait_for(lambda: not service.is_ready(), timeout=60, message="still ready")
            assert await http_get(service.http_port, "/readyz") == (503, "not ready\n")
            await sleep_outage(20.0)
            broker.restart()
            await broker.wait_ready()
            async with CommittedReader(broker.bootstrap, sink) as reader:
                await reader.wait_count(30, timeout=180)
                records = await reader.drain()
            # the group settles after the restart: slow on a loaded 2-core machine
            await wait_for(service.is_ready, timeout=120)
            steps = sample(service, "impact_dependency_backoff_total", "kafka")
        dead = await read_all(broker.bootstrap, f"{source}.dlq")
    finally:
        broker.stop()
    codec = JsonCodec()
    doubled = sorted([(await codec.decode(r.value, sink))["doubled"] for r in records])
    assert doubled == [2 * x for x in range(1, 31)]  # nothing lost, nothing duplicated
    assert dead == []
    assert steps >= 1


async def test_a_service_started_while_the_broker_is_down_waits_for_it(tmp_path: Path) -> None:
    broker = Broker(tmp_path)
    broker.start()
    try:
        settings = isolated_settings(
            broker.bootstrap,
            topic_partitions=1,
            retry_backoff_max_s=1.0,
            transactional_id=f"late-{uuid.uuid4().hex[:8]}",
        )
        source = f"{settings.topic_prefix}measure.requested.v1"
        sink = f"{settings.topic_prefix}measure.completed.v1"
        broker.kill()
        service = Service(settings, ["measure_requested"], slow_double, codec=JsonCodec())
        starting = asyncio.create_task(service.start())
        waits = lambda: sample(service, "impact_dependency_backoff_total", "kafka") >= 2  # noqa: E731
        await wait_for(waits, timeout=60, message="no backoff while the broker is down")
        assert not starting.done(), starting
        assert await http_get(service.http_port, "/readyz") == (503, "not ready\n")
        broker.restart()
        await broker.wait_ready()
        await asyncio.wait_for(starting, timeout=120)
        try:
            await wait_for(service.is_ready, timeout=60)
            await produce(broker.bootstrap, source, [("k", as_json(request("run-l", 4)))])
            async with CommittedReader(broker.bootstrap, sink) as reader:
                await reader.wait_count(1, timeout=60)
                records = await reader.drain()
        finally:
            await service.stop()
    finally:
        broker.stop()
    assert [(await JsonCodec().decode(r.value, sink))["doubled"] for r in records] == [8]
