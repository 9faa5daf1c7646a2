"""Manifests from any Kafka client: the replica that owns the run gets them, and one that
breaks its contract ends its run visibly instead of hanging it.

Two, then three orchestrator replicas on the real broker, every service a real process.
Each manifest comes from a client other than ``impact publish``: confluent-kafka's
Producer at its defaults (librdkafka's CRC32 partitioner), aiokafka with an explicit
partition that is not the owner's, and aiokafka's default partitioner (murmur2). Every run
must complete with the embedded-mode report and no replica may log ``unknown_run``.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import confluent_kafka
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2
from impact_cli.processes import ServiceProcesses
from impact_observe.bus import Bus
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.manifest import Manifest, load_manifest
from impact_orchestrator.outputs import FORWARDED_FROM
from impact_orchestrator.service import INPUTS as ORCHESTRATOR_INPUTS
from impact_schemas.catalog import topic_for
from impact_schemas.events import new_envelope

from runtime.tests.kafka_io import read_all
from tests.integration.stack import PARTITIONS, ROOT, completed, outcome, running, service_stack

pytestmark = pytest.mark.integration

EXAMPLE = ROOT / "examples" / "manifest.yaml"
RUN_TIMEOUT_S = 240.0
CHEAP = ("checkout-flow-ab-test", "free-shipping-threshold", "loyalty-opt-in")


def java_partition(key: str) -> int:
    """Java's (and aiokafka's) default partition of ``key``: the reference owner."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS


def librdkafka_partition(key: str) -> int:
    """librdkafka's default (``consistent_random``) partition of a non-empty key."""
    return zlib.crc32(key.encode()) % PARTITIONS


def run_id_where(stem: str, condition: Callable[[str], bool]) -> str:
    return next(r for r in (f"{stem}-{i}" for i in itertools.count()) if condition(r))


def replica_of_partition(stack: ServiceProcesses, topic: str) -> dict[int, str]:
    """Which orchestrator replica reads each partition of ``topic`` (from its latest
    ``partitions_assigned`` log line)."""
    owners: dict[int, str] = {}
    for index in range(stack.replicas["orchestrator"]):
        name = f"orchestrator-{index}"
        assigned = [
            line for line in stack.log_lines(name) if line.get("event") == "partitions_assigned"
        ]
        for text in assigned[-1]["partitions"] if assigned else []:
            if match := re.fullmatch(
                rf"TopicPartition\(topic='{re.escape(topic)}', partition=(\d+)\)", text
            ):
                owners[int(match.group(1))] = name
    return owners


@pytest.fixture(scope="module", params=[2, 3], ids=lambda n: f"{n}-orchestrators")
def stack(
    request: pytest.FixtureRequest,
    kafka_bootstrap: str,
    schema_registry_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcesses]:
    logs = tmp_path_factory.mktemp("foreign-logs")
    replicas = {"orchestrator": request.param}
    yield from running(service_stack(kafka_bootstrap, schema_registry_url, logs, replicas))


def small_manifest() -> Manifest:
    """Three initiatives of the example with quick models; a budget that must choose."""
    base = load_manifest(EXAMPLE)
    keep = [i for i in base.initiatives if i.initiative_id in CHEAP]
    return base.model_copy(update={"budget": 45_000.0, "initiatives": keep})


async def encoded_manifest(bus: Bus, payload: dict[str, Any], run_id: str) -> bytes:
    topic = topic_for("manifest_submitted", bus.prefix)
    return await bus.codec.encode("manifest_submitted", {**new_envelope(run_id), **payload}, topic)


async def produce_confluent(bootstrap: str, topic: str, key: str, value: bytes) -> int:
    """Produce with confluent-kafka's Producer at its defaults; the partition it chose."""

    def send() -> int:
        producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
        delivered: list[tuple[Any, int | None]] = []
        producer.produce(
            topic,
            value=value,
            key=key,
            on_delivery=lambda e, m: delivered.append((e, m.partition())),
        )
        assert producer.flush(30) == 0, "confluent-kafka did not deliver within 30 s"
        [(error, partition)] = delivered
        assert error is None and partition is not None, error
        return partition

    return await asyncio.to_thread(send)


async def produce_aiokafka(
    bootstrap: str, topic: str, key: str, value: bytes, partition: int | None
) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, value, key=key.encode(), partition=partition)
        return int(sent.partition)
    finally:
        await producer.stop()


def orchestrator_log_events(stack: ServiceProcesses, event: str) -> list[dict[str, Any]]:
    replicas = range(stack.replicas["orchestrator"])
    return [
        line
        for i in replicas
        for line in stack.log_lines(f"orchestrator-{i}")
        if line.get("event") == event
    ]


async def test_every_client_reaches_the_owner_and_the_report_equals_embedded(
    bus: Bus, stack: ServiceProcesses, kafka_bootstrap: str
) -> None:
    manifest = small_manifest()
    topic = topic_for("manifest_submitted", stack.prefix)
    tag = stack.prefix.rstrip(".")
    replica = replica_of_partition(stack, topic)
    assert sorted(replica) == list(range(PARTITIONS)), replica
    # misplaced on a partition that another replica reads than the owner's
    confluent_run = run_id_where(
        f"{tag}-crc32", lambda r: replica[librdkafka_partition(r)] != replica[java_partition(r)]
    )
    explicit_run = f"{tag}-explicit"
    wrong = next(
        p for p in range(PARTITIONS) if replica[p] != replica[java_partition(explicit_run)]
    )
    aiokafka_run = f"{tag}-murmur2"
    payload = manifest.to_event_payload()

    async def by_aiokafka(run_id: str, partition: int | None) -> int:
        value = await encoded_manifest(bus, payload, run_id)
        return await produce_aiokafka(kafka_bootstrap, topic, run_id, value, partition)

    landed = {
        confluent_run: await produce_confluent(
            kafka_bootstrap,
            topic,
            confluent_run,
            await encoded_manifest(bus, payload, confluent_run),
        ),
        explicit_run: await by_aiokafka(explicit_run, wrong),
        aiokafka_run: await by_aiokafka(aiokafka_run, None),  # aiokafka's own partitioner
    }
    assert landed[confluent_run] == librdkafka_partition(confluent_run)
    assert landed[confluent_run] != java_partition(confluent_run)
    assert landed[explicit_run] != java_partition(explicit_run)
    assert landed[aiokafka_run] == java_partition(aiokafka_run)

    runs = await asyncio.gather(*(completed(bus, run_id, RUN_TIMEOUT_S) for run_id in landed))
    for run_id, run in zip(landed, runs, strict=True):
        assert run["status"] == "completed", (run_id, run["summary"])
        assert run["summary"]["n_evaluated"] == len(CHEAP)
        embedded = await asyncio.to_thread(run_embedded, manifest, run_id=run_id)
        assert outcome(run) == outcome(embedded), run_id

    assert orchestrator_log_events(stack, "unknown_run") == []
    # only the two misplaced manifests moved, once each and to their owner's partition;
    # every result landed on its owner (committed records on every orchestrator input,
    # not log lines: a batch replayed after a rebalance logs its forward again)
    forwarded = [
        (r.topic, r.key.decode(), r.partition)
        for event in ORCHESTRATOR_INPUTS
        for r in await read_all(kafka_bootstrap, topic_for(event, stack.prefix))
        if any(name == FORWARDED_FROM for name, _ in r.headers)
        and r.key is not None
        and r.key.decode().split(":")[0] in landed
    ]
    assert sorted(forwarded) == sorted(
        (topic, run_id, java_partition(run_id)) for run_id in (confluent_run, explicit_run)
    )


async def test_an_invalid_manifest_from_a_raw_producer_fails_its_run(
    bus: Bus, stack: ServiceProcesses, kafka_bootstrap: str
) -> None:
    """Duplicate initiative ids and a negative budget, straight onto the topic (on a
    partition that is not the owner's): dead-lettered with the reason, and the run ends
    failed at once with that reason, having requested nothing."""
    manifest = small_manifest()
    run_id = f"{stack.prefix.rstrip('.')}-invalid"
    payload = manifest.to_event_payload()
    first = payload["initiatives"][0]
    payload.update(budget=-5.0, initiatives=[first, first])
    topic = topic_for("manifest_submitted", stack.prefix)
    value = await encoded_manifest(bus, payload, run_id)
    owner = java_partition(run_id)
    await produce_aiokafka(kafka_bootstrap, topic, run_id, value, (owner + 1) % PARTITIONS)

    run = await completed(bus, run_id, RUN_TIMEOUT_S)
    reason = run["summary"]["reason"]
    assert run["status"] == "failed"
    assert f"initiatives: duplicate initiative ids '{first['initiative_id']}'" in reason
    assert "budget: must be > 0" in reason
    assert run["reports"] == [] and run["failures"] == []

    dead = [r for r in await read_all(kafka_bootstrap, f"{topic}.dlq") if r.key == run_id.encode()]
    assert len(dead) == 1
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert dead[0].value == value
    assert headers["dlq.reason"] == f"ContractViolation: {reason}"
    assert headers["dlq.partition"] == str(owner)
    requested = await read_all(kafka_bootstrap, topic_for("measure_requested", stack.prefix))
    assert [r for r in requested if r.key.startswith(f"{run_id}:".encode())] == []
