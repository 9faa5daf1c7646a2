"""Fault suite on a 3-node cluster: no single point of failure.

A 200-initiative run on three KRaft nodes (topics RF 3, min ISR 2) with two replicas of
every stage, three orchestrators and two registry instances. Three aimed faults, one after
the other while the run goes on:

1. SIGKILL the broker leading the busiest partition of ``measure_requested`` once a
   quarter of the pilot is measured (restarted on its data at half the measures);
2. SIGKILL the orchestrator owning the run when the evaluate barrier is half full, for
   good: the two others take its partitions, one restores the run from the changelog, and
   a survivor fences its transactional id, which aborts the transaction it may have left
   open (decision 0074; else readers of what it wrote wait out its 15 min timeout);
3. SIGKILL the registry's elected writer while allocate solves, then restart a measure
   replica, whose codec needs the registry again (the follower is elected writer; the
   clients fail over between the two URLs).

The report must equal embedded mode's, with nothing lost or duplicated and exactly one
``run_completed``; no valid event may reach a DLQ.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiokafka.partitioner import murmur2
from impact_observe.bus import Bus
from impact_schemas.catalog import topic_for
from impact_schemas.registry.client import RegistryClient

from tests.support.cluster import LocalCluster
from tests.support.fault_components import ALLOCATE_DELAY_ENV, MEASURE_DELAY_ENV, SOLVING
from tests.support.fault_manifests import cohort, embedded_outcome, outcome
from tests.support.fault_processes import RegistryProcess, registry_urls
from tests.support.fault_runs import RunEvents, dlq_records, read_committed
from tests.support.fault_watch import RunWatch
from tests.support.faults import FaultStack, fault_seed
from tests.support.faults import start_stack as start
from tests.support.kafka_clients import topic_config
from tests.support.registry import writer_of

pytestmark = [pytest.mark.integration, pytest.mark.faults]

N = 200
PARTITIONS = 6
REPLICAS = {"orchestrator": 3, "measure": 2, "evaluate": 2, "allocate": 2}
RUN_TIMEOUT_S = 480.0  # below pytest's 600 s, so the run's own timeout says where it stood
NEW_SCHEMA = json.dumps({"type": "record", "name": "AfterFailover", "fields": []})
PACING = {
    MEASURE_DELAY_ENV: "0.15",  # 200 + K measures over 2 replicas: room for three faults
    ALLOCATE_DELAY_ENV: "4",  # a window to kill the registry writer mid-solve
    "IMPACT_MAX_POLL_RECORDS": "5",
    "IMPACT_SESSION_TIMEOUT_MS": "6000",  # a dead orchestrator's runs move within ~6 s
}


@pytest.fixture(scope="module")
def registries(
    _ready_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[RegistryProcess]]:
    """Two instances of one registry on a ``_schemas`` topic of the cluster."""
    logs = tmp_path_factory.mktemp("cluster-registry")
    topic = f"_schemas-cluster-{int(time.time())}"
    instances = [
        RegistryProcess(_ready_cluster.bootstrap, topic, logs, f"registry-{i}").start()
        for i in range(2)
    ]
    yield instances
    for instance in instances:
        instance.stop()


@pytest.fixture(scope="module")
def stack(
    _ready_cluster: LocalCluster,
    registries: list[RegistryProcess],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FaultStack]:
    logs = tmp_path_factory.mktemp("cluster-stack")
    urls = registry_urls(registries)
    services = start(_ready_cluster.bootstrap, urls, logs, REPLICAS, env=PACING)
    yield services
    services.stop()


@pytest.fixture
async def client(stack: FaultStack, kafka_cluster: LocalCluster) -> AsyncIterator[Bus]:
    bus = Bus(kafka_cluster.bootstrap, stack.env["SCHEMA_REGISTRY_URL"], stack.prefix)
    yield bus
    await bus.close()


async def busiest_partition(bootstrap: str, topic: str) -> int:
    """The partition of ``topic`` holding the most committed records."""
    counts = dict.fromkeys(range(PARTITIONS), 0)
    for record in await read_committed(bootstrap, [topic]):
        counts[record.partition] += 1
    return max(counts, key=lambda p: (counts[p], -p))


async def test_cluster_survives_a_broker_an_orchestrator_and_the_registry_writer(
    stack: FaultStack,
    registries: list[RegistryProcess],
    kafka_cluster: LocalCluster,
    client: Bus,
    tmp_path: Path,
) -> None:
    seed = fault_seed("cluster faults")
    manifest = cohort(tmp_path, N)
    run_id = f"cluster-{seed}"
    expected_task = asyncio.create_task(embedded_outcome(manifest, run_id))
    bootstrap = kafka_cluster.bootstrap
    run_partition = (murmur2(run_id.encode()) & 0x7FFFFFFF) % PARTITIONS
    measure_topic = topic_for("measure_requested", stack.prefix)
    observed: dict[str, object] = {}
    faults: list[tuple[str, float]] = []

    async def broker_fault(watch: RunWatch) -> None:
        await watch.until(lambda w: w.progress.get("measure", 0) >= N // 4, RUN_TIMEOUT_S, "N/4")
        partition = await busiest_partition(bootstrap, measure_topic)
        leader = await kafka_cluster.leader_of(measure_topic, partition)
        faults.append(("broker", time.monotonic()))
        await kafka_cluster.kill(leader)
        new = await kafka_cluster.wait_new_leader(measure_topic, partition, leader)
        observed["broker"] = {"killed": leader, "partition": partition, "new leader": new}
        await watch.until(lambda w: w.progress.get("measure", 0) >= N // 2, RUN_TIMEOUT_S, "N/2")
        await kafka_cluster.restart(leader)  # back on its data before the next fault
        await kafka_cluster.wait_full_isr(measure_topic, partition)

    async def orchestrator_fault(watch: RunWatch) -> None:
        await watch.until(lambda w: w.progress.get("evaluate", 0) >= N // 2, RUN_TIMEOUT_S, "N/2")
        topic = topic_for("manifest_submitted", stack.prefix)
        owner = stack.owner("orchestrator", topic, run_partition)
        assert owner is not None, "no orchestrator owns the run's partition"
        observed["orchestrator"] = {
            "killed": owner,
            "evaluated at kill": watch.progress.get("evaluate", 0),
        }
        faults.append(("orchestrator", time.monotonic()))
        await asyncio.to_thread(stack.kill, owner)

        def taken_over() -> str | None:  # a survivor restored the run from the changelog
            for name in stack.names("orchestrator"):
                lines = stack.log_lines(name) if name != owner else []
                if any(ln.get("event") == "runs_restored" and ln.get("runs") for ln in lines):
                    return name
            return None

        def fenced_by() -> str | None:  # a survivor aborted what it left open (0074)
            dead_id = f"{stack.prefix}{owner}"
            for name in stack.names("orchestrator"):
                lines = stack.log_lines(name) if name != owner else []
                if any(
                    ln.get("event") == "departed_member_fenced"
                    and ln.get("transactional_id") == dead_id
                    for ln in lines
                ):
                    return name
            return None

        # it stays dead: nothing restarts its slot (and its transactional id)
        await watch.until(lambda w: taken_over() is not None, RUN_TIMEOUT_S, "takeover")
        await watch.until(lambda w: fenced_by() is not None, RUN_TIMEOUT_S, "fence")
        observed["orchestrator"]["restored by"] = taken_over()  # type: ignore[index]
        observed["orchestrator"]["fenced by"] = fenced_by()  # type: ignore[index]

    def solving() -> bool:
        return any(
            line.get("event") == SOLVING
            for name in stack.names("allocate")
            for line in stack.log_lines(name)
        )

    async def registry_fault(watch: RunWatch) -> None:
        await watch.until(lambda w: solving(), RUN_TIMEOUT_S, "allocate solving")
        writer = await asyncio.to_thread(writer_of, registries)
        faults.append(("registry writer", time.monotonic()))
        await asyncio.to_thread(writer.stop)  # SIGKILL
        async with RegistryClient(registry_urls(registries)) as registry:  # both URLs
            new_id = await registry.register(f"{stack.prefix}after-failover", NEW_SCHEMA)
            known = await registry.get_by_id(new_id)
        survivor = await asyncio.to_thread(writer_of, registries)
        observed["registry"] = {"killed": writer.url, "new writer": survivor.url}
        observed["registered after the kill"] = json.loads(known) == json.loads(NEW_SCHEMA)
        # a replica started now registers and looks up its schemas through the survivor
        victim = stack.names("measure")[0]
        await asyncio.to_thread(stack.kill, victim)
        stack.restart(victim)

    async with RunWatch(bootstrap, client.codec, stack.prefix, run_id) as watch:
        await client.publish_manifest(manifest.to_event_payload(), run_id)
        tasks = [
            asyncio.create_task(fault(watch))
            for fault in (broker_fault, orchestrator_fault, registry_fault)
        ]
        finished = asyncio.create_task(watch.finished(RUN_TIMEOUT_S))
        try:  # a fault that fails (a node that does not come back) fails the test at once
            done, _ = await asyncio.wait([finished, *tasks], return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            run = await finished
            await asyncio.gather(*tasks)
        finally:
            finished.cancel()
            for task in tasks:
                task.cancel()
    expected = await expected_task
    survivors = [n for n in stack.names() if n not in stack.dead()]
    events = await RunEvents.settled(bootstrap, client.codec, stack.prefix, run_id)
    dlq = await dlq_records(bootstrap, stack.prefix)
    ends = [at for _, at in faults[1:]] + [watch.points[-1]]
    for (fault, at), end in zip(faults, ends, strict=True):
        lost, duplicated = events.record(
            f"cluster: SIGKILL {fault}",
            f"3-node cluster, {N}-initiative run, 2 replicas per stage, 3 orchestrators,"
            f" 2 registries: the {fault} SIGKILLed mid-run",
            1,
            watch.longest_stall(at, end),
            seed,
            **{k: v for k, v in observed.items() if k.split()[0] in fault},
        )
    print(f"cluster faults (seed {seed}): {observed}; survivors {survivors}")
    assert [name for name, _ in faults] == ["broker", "orchestrator", "registry writer"]
    assert N // 2 <= int(observed["orchestrator"]["evaluated at kill"]) < N  # type: ignore[index]
    assert stack.dead() == [observed["orchestrator"]["killed"]]  # type: ignore[index]
    assert observed["registry"]["new writer"] != observed["registry"]["killed"]  # type: ignore[index]
    assert observed["registered after the kill"] is True
    assert outcome(run) == expected
    assert (lost, duplicated) == (0, 0)
    assert len(events.named("run_completed")) == 1
    assert dlq == []
    # the run's topics were created for the cluster: RF 3, min ISR 2 (decision 0061)
    assert (await topic_config(bootstrap, measure_topic))["min.insync.replicas"] == "2"
    for partition in range(PARTITIONS):
        assert len((await kafka_cluster.partition(measure_topic, partition))["replicas"]) == 3
