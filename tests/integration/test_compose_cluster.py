"""The compose ``cluster`` profile for real: three Kafka containers on loopback form one
cluster, the project's topics get RF 3 / min ISR 2, and a killed leader container loses no
committed record and rejoins the ISR when started again. Then the whole stack comes up on
the same profile (no single broker) and the example manifest gives the embedded report.

Files: docker-compose.yml + compose.host.yml, ``--profile cluster`` (decision 0075).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from impact_kafka.topics import ensure_topics
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.manifest import load_manifest
from impact_runtime import ServiceSettings

from scripts.local_kafka import free_ports
from tests.integration.stack import ROOT
from tests.support import kafka_container
from tests.support.docker import require_docker, unavailable
from tests.support.kafka import wait_for
from tests.support.kafka_clients import topic_config

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FILES = [ROOT / "docker-compose.yml", ROOT / "compose.host.yml"]
NODES = ("kafka-1", "kafka-2", "kafka-3")


class ClusterCompose:
    """``docker compose -p NAME -f ... --profile cluster`` with the nodes on free ports."""

    def __init__(self) -> None:
        ports = free_ports(7)
        self.project = f"impact-cluster-{uuid.uuid4().hex[:8]}"
        self.ports = ports[:3]
        self.bootstrap = ",".join(f"127.0.0.1:{port}" for port in self.ports)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("IMPACT_TOPIC_")}
        self.env.pop("SCHEMA_REGISTRY_URL", None)
        self.env["KAFKA_BOOTSTRAP_SERVERS"] = self.bootstrap
        self.env["REGISTRY_PORT"] = str(ports[6])
        for number, (port, controller) in enumerate(
            zip(ports[:3], ports[3:6], strict=True), start=1
        ):
            self.env[f"KAFKA_{number}_PORT"] = str(port)
            self.env[f"KAFKA_{number}_CONTROLLER_PORT"] = str(controller)

    def __call__(self, *args: str, timeout: float = 300) -> str:
        files = [arg for file in FILES for arg in ("-f", str(file))]
        command = ["docker", "compose", "-p", self.project, *files, "--profile", "cluster"]
        done = subprocess.run(
            [*command, *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, f"{args} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        return done.stdout


@pytest.fixture(scope="module")
def compose_cluster() -> Iterator[ClusterCompose]:
    require_docker(compose=True)
    image = os.environ.get("KAFKA_IMAGE", kafka_container.DEFAULT_IMAGE)
    if not kafka_container.image_present(image):
        unavailable(f"{image} missing: python3 scripts/docker_images.py build")
    compose = ClusterCompose()
    try:
        compose("up", "-d", "--wait", *NODES)
        yield compose
    finally:
        compose("down", "-v", "--timeout", "5")


async def partition_state(bootstrap: str, topic: str) -> dict[str, Any]:
    """The cluster's broker count and partition 0 of ``topic`` (leader, replicas, isr);
    empty while the request lands on a node that just died (metadata lists it until the
    controller fences it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        described = await admin.describe_topics([topic])
        brokers = len((await admin.describe_cluster())["brokers"])
    except KafkaError:
        return {}
    finally:
        await admin.close()
    partition = described[0]["partitions"][0] if described[0]["partitions"] else {}
    return {"brokers": brokers, **partition}


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id=f"t-{uuid.uuid4().hex}", acks="all"
    )
    await producer.start()
    try:
        async with producer.transaction():
            for value in values:
                await producer.send(topic, value, partition=0)
    finally:
        await producer.stop()


async def test_the_compose_cluster_replicates_and_survives_a_killed_leader(
    compose_cluster: ClusterCompose,
) -> None:
    bootstrap = compose_cluster.bootstrap
    topic = f"compose-cluster-{uuid.uuid4().hex}"
    settings = ServiceSettings(service_name="compose-cluster", bootstrap_servers=bootstrap)

    async def three_brokers() -> bool:
        return (await partition_state(bootstrap, "__none__")).get("brokers") == 3

    await wait_for(three_brokers, 120, interval=1, message="3 brokers never registered")
    await ensure_topics(settings, {topic})

    async def in_sync(source: str) -> dict[str, Any]:
        found = await partition_state(source, topic)
        whole = sorted(found.get("isr", [])) == sorted(found.get("replicas", [])) == [1, 2, 3]
        return found if whole else {}

    state = await wait_for(lambda: in_sync(bootstrap), 60, message="3 replicas not in sync")
    assert (await topic_config(bootstrap, topic))["min.insync.replicas"] == "2"

    first = [f"before-{index}".encode() for index in range(50)]
    await produce(bootstrap, topic, first)
    assert (await topic_config(bootstrap, "__transaction_state"))["min.insync.replicas"] == "2"
    leader = int(state["leader"])
    compose_cluster("kill", f"kafka-{leader}")

    # Metadata requests go to a live node (an admin client may pick the dead one).
    live = ",".join(
        f"127.0.0.1:{port}"
        for node, port in enumerate(compose_cluster.ports, start=1)
        if node != leader
    )

    async def new_leader() -> int:
        found = await partition_state(live, topic)
        elected = int(found.get("leader", -1))
        return elected if elected not in (-1, leader) else 0

    await wait_for(new_leader, 60, interval=0.5, message="no new leader")
    second = [f"after-{index}".encode() for index in range(50)]
    await produce(bootstrap, topic, second)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"compose-cluster-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    read: list[bytes] = []

    async def read_all() -> bool:
        batches = await consumer.getmany(timeout_ms=200)
        read.extend(r.value for records in batches.values() for r in records if r.value)
        return len(read) >= len(first + second)

    await consumer.start()
    try:
        await wait_for(read_all, 60, interval=0, message="committed records missing")
        extra = await consumer.getmany(timeout_ms=300)
    finally:
        await consumer.stop()
    assert read == first + second
    assert sum(len(records) for records in extra.values()) == 0

    compose_cluster("start", f"kafka-{leader}")

    await wait_for(lambda: in_sync(live), 120, interval=1, message=f"kafka-{leader} not in ISR")


RUN_ID = "compose-cluster-run"


@pytest.mark.timeout(1800)  # the first build of the images on a fresh machine
async def test_the_whole_stack_runs_on_the_cluster_profile(
    compose_cluster: ClusterCompose,
) -> None:
    compose_cluster("build", timeout=1500)
    compose_cluster("up", "-d", "--wait", "--scale", "measure=2", timeout=600)
    running = compose_cluster("ps", "--format", "{{.Service}}").split()
    assert "kafka" not in running  # the single broker stays off
    assert set(NODES) <= set(running)
    published = compose_cluster(
        "run", "--rm", "cli", "publish", "--run-id", RUN_ID, "examples/manifest.yaml"
    )
    assert published.strip().splitlines()[-1] == RUN_ID
    tailed = compose_cluster(
        "run", "--rm", "cli", "tail", RUN_ID, "--json", "--timeout", "600", timeout=700
    )
    report = json.loads(tailed)
    expected = run_embedded(load_manifest(ROOT / "examples" / "manifest.yaml"), run_id=RUN_ID)
    keys = ("status", "reports", "failures", "summary")
    assert {k: report[k] for k in keys} == {k: expected[k] for k in keys}
    # the topics job waited for the three nodes: RF 3 / min ISR 2 from `auto`
    topic = "impact.measure.requested.v1"
    assert (await topic_config(compose_cluster.bootstrap, topic))["min.insync.replicas"] == "2"
    state = await partition_state(compose_cluster.bootstrap, topic)
    assert len(state["replicas"]) == 3
