"""The Service on a real broker: outputs, DLQ routing, health and metrics."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import ProducerFenced
from impact_runtime import (
    Incoming,
    JsonCodec,
    Outgoing,
    Output,
    Service,
    ServiceCrashed,
    ServiceSettings,
)
from impact_runtime.dlq import TRUNCATED_VALUE_BYTES
from impact_schemas.catalog import event_spec

from runtime.tests.kafka_io import (
    CommittedReader,
    as_json,
    http_get,
    isolated_settings,
    produce,
    request,
)
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration


def double(incoming: Incoming) -> list[Output]:
    value = {"initiative_id": incoming.value["initiative_id"], "doubled": 2 * incoming.value["x"]}
    return [Outgoing("measure_completed", incoming.value["run_id"], value)]


def topics(settings: ServiceSettings) -> tuple[str, str]:
    prefix = settings.topic_prefix
    return f"{prefix}measure.requested.v1", f"{prefix}measure.completed.v1"


@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
async def test_consumes_handles_and_produces(kafka_bootstrap: str, guarantee: str) -> None:
    settings = isolated_settings(kafka_bootstrap, processing_guarantee=guarantee)
    source, sink = topics(settings)
    inputs = [request("run-a", x) for x in (1, 2, 3)]
    service = Service(settings, ["measure_requested"], double, codec=JsonCodec())
    service.output_events = ("measure_completed",)
    async with service:
        await produce(
            kafka_bootstrap, source, [(f"run-a:init-{v['x']}", as_json(v)) for v in inputs]
        )
        async with CommittedReader(kafka_bootstrap, sink) as reader:
            records = await reader.wait_count(3)
        assert service.running
    codec = JsonCodec()
    values = [await codec.decode(r.value, sink) for r in records]
    assert sorted((v["initiative_id"], v["doubled"]) for v in values) == [
        ("init-1", 2),
        ("init-2", 4),
        ("init-3", 6),
    ]
    by_cause = {v["causation_id"]: v for v in values}
    assert set(by_cause) == {v["event_id"] for v in inputs}
    assert {v["run_id"] for v in values} == {"run-a"}
    assert {r.key for r in records} == {b"run-a"}
    headers = dict(records[0].headers)
    assert headers["run_id"] == b"run-a"
    assert headers["schema_version"] == event_spec("measure_completed").version.encode()


async def test_poison_goes_to_the_dlq_and_later_messages_are_processed(
    kafka_bootstrap: str,
) -> None:
    settings = isolated_settings(kafka_bootstrap)
    source, sink = topics(settings)
    async with Service(settings, ["measure_requested"], double, codec=JsonCodec()):
        await produce(
            kafka_bootstrap,
            source,
            [
                ("bad-1", b"\x00\x00\x00\x00\x01\xff\xfe"),
                ("bad-2", b"[1, 2]"),
                ("good", as_json(request("run-b", 21))),
            ],
        )
        async with CommittedReader(kafka_bootstrap, f"{source}.dlq") as dlq:
            dead = await dlq.wait_count(2)
        async with CommittedReader(kafka_bootstrap, sink) as reader:
            [out] = await reader.wait_count(1)
    assert [(d.key, d.value) for d in dead] == [
        (b"bad-1", b"\x00\x00\x00\x00\x01\xff\xfe"),
        (b"bad-2", b"[1, 2]"),
    ]
    headers = [dict(d.headers) for d in dead]
    assert [h["dlq.error_type"] for h in headers] == [b"SchemaMismatch", b"SchemaMismatch"]
    assert headers[1]["dlq.reason"] == b"SchemaMismatch: expected a JSON object, got list"
    assert [h["dlq.offset"] for h in headers] == [b"0", b"1"]
    assert {h["dlq.source_topic"] for h in headers} == {source.encode()}
    assert {h["dlq.service"] for h in headers} == {b"echo"}
    assert (await JsonCodec().decode(out.value, sink))["doubled"] == 42


async def test_a_poison_too_large_to_copy_is_dead_lettered_truncated(
    kafka_bootstrap: str,
) -> None:
    """The topic takes a record the producer cannot copy to the DLQ with its reason headers:
    the DLQ copy keeps a head and the original's size and hash; the service keeps going."""
    settings = isolated_settings(kafka_bootstrap, max_message_bytes=256 * 1024)
    source, sink = topics(settings)
    poison = b"\x00\x00\x00\x00\x01" + bytes(range(256)) * 1536  # 384 KiB, > 256 KiB
    service = Service(settings, ["measure_requested"], double, codec=JsonCodec())
    async with service:
        await produce(
            kafka_bootstrap,
            source,
            [("huge", poison), ("good", as_json(request("run-h", 4)))],
            max_request_size=1 << 20,
        )
        async with CommittedReader(kafka_bootstrap, f"{source}.dlq") as dlq:
            [dead] = await dlq.wait_count(1)
        async with CommittedReader(kafka_bootstrap, sink) as reader:
            [out] = await reader.wait_count(1)
        assert service.running
    headers = dict(dead.headers)
    assert dead.key == b"huge"
    assert dead.value == poison[:TRUNCATED_VALUE_BYTES]
    assert headers["dlq.value_bytes"] == str(len(poison)).encode()
    assert headers["dlq.value_sha256"] == hashlib.sha256(poison).hexdigest().encode()
    assert headers["dlq.offset"] == b"0" and headers["dlq.error_type"] == b"SchemaMismatch"
    assert (await JsonCodec().decode(out.value, sink))["doubled"] == 8


async def test_health_readiness_and_metrics(kafka_bootstrap: str) -> None:
    settings = isolated_settings(kafka_bootstrap)
    source, sink = topics(settings)
    release = asyncio.Event()
    assigned: list[set[str]] = []

    class Assigned(Service):
        async def assigned(self, partitions: set[TopicPartition]) -> None:
            assigned.append({f"{tp.topic}:{tp.partition}" for tp in partitions})
            await release.wait()

    service = Assigned(settings, ["measure_requested"], double, codec=JsonCodec())
    await service.start()
    try:
        port = service.http_port
        assert port > 0
        assert await http_get(port, "/healthz") == (200, "ok\n")
        await wait_for(lambda: assigned, timeout=30)
        assert assigned[0] == {f"{source}:0", f"{source}:1"}
        assert await http_get(port, "/readyz") == (503, "not ready\n")
        release.set()
        await asyncio.wait_for(service.ready.wait(), timeout=10)
        assert await http_get(port, "/readyz") == (200, "ready\n")
        await produce(kafka_bootstrap, source, [("k", as_json(request("run-c", 5))), ("k", b"x")])
        async with CommittedReader(kafka_bootstrap, sink) as reader:
            await reader.wait_count(1)

        async def both_delivered() -> bool:  # the lag is observed after delivery
            _, body = await http_get(port, "/metrics")
            return (
                f'impact_messages_dlq_total{{topic="{source}"}} 1.0' in body
                and f'impact_consumer_lag{{partition="0",topic="{source}"}} 0.0' in body
            )

        await wait_for(both_delivered, timeout=10)
        status, body = await http_get(port, "/metrics")
        assert status == 200
        assert f'impact_messages_processed_total{{topic="{source}"}} 1.0' in body
        assert f'impact_handler_seconds_count{{topic="{source}"}} 1.0' in body
        assert f'impact_handler_cpu_seconds_total{{topic="{source}"}} ' in body
        batches = re.search(r"^impact_batches_delivered_total (\S+)$", body, re.MULTILINE)
        assert batches is not None and 1.0 <= float(batches[1]) <= 2.0  # two messages
        assert 'impact_service_info{service="echo"} 1.0' in body
        assert await http_get(port, "/nope") == (404, "not found\n")
    finally:
        await service.stop()
    assert not service.is_ready()


async def fence(bootstrap: str, transactional_id: str) -> None:
    """Initialise a producer with ``transactional_id``: the service's own is fenced."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id)
    await producer.start()
    await producer.stop()


async def fenced_twice(service: Service, bootstrap: str, sink: str) -> None:
    """Fence the running service twice: the first time it replays the batch (a survivor
    may fence a replica restarted under its id just as it rejoins, decision 0074) and
    delivers it once; the second, within ``REFENCE_WINDOW_S``, is another process with its
    id, and it stops on ``ProducerFenced``."""
    source = sink.replace("completed", "requested")
    await fence(bootstrap, service.transactional_id)
    await produce(bootstrap, source, [("k", as_json(request("run-f", 1)))])
    async with CommittedReader(bootstrap, sink) as reader:
        await reader.wait_count(1, timeout=60)
        assert len(await reader.drain()) == 1
    assert service.running
    await fence(bootstrap, service.transactional_id)
    await produce(bootstrap, source, [("k", as_json(request("run-f", 2)))])


async def test_run_raises_the_loop_crash_with_its_cause(kafka_bootstrap: str) -> None:
    settings = isolated_settings(kafka_bootstrap, transactional_id=f"f-{uuid.uuid4().hex}")
    _, sink = topics(settings)
    service = Service(settings, ["measure_requested"], double, codec=JsonCodec())
    task = asyncio.create_task(service.run())
    await wait_for(service.is_ready, timeout=30)
    await fenced_twice(service, kafka_bootstrap, sink)
    with pytest.raises(ServiceCrashed) as caught:
        await asyncio.wait_for(task, timeout=60)
    assert str(caught.value) == f"echo stopped on a fatal error: {caught.value.__cause__!r}"
    assert isinstance(caught.value.__cause__, ProducerFenced)


async def test_async_with_does_not_hide_a_crash(kafka_bootstrap: str) -> None:
    settings = isolated_settings(kafka_bootstrap, transactional_id=f"f-{uuid.uuid4().hex}")
    _, sink = topics(settings)
    with pytest.raises(ProducerFenced):
        async with Service(settings, ["measure_requested"], double, codec=JsonCodec()) as service:
            await wait_for(service.is_ready, timeout=30)
            await fenced_twice(service, kafka_bootstrap, sink)
            await wait_for(lambda: not service.running, timeout=60)
