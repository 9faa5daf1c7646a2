"""A 3-node Kafka cluster on loopback for tests: ``LocalCluster`` and the ``kafka_cluster``
fixture (a plugin of the root conftest).

The cluster comes from ``scripts/local_kafka.py start --nodes 3`` (same jars as the single
broker; nodes die with the test process). The session starts it once, on first use; every
test that asks for ``kafka_cluster`` gets it with all nodes up and must be marked
``@pytest.mark.integration``::

    async def test_x(kafka_cluster: LocalCluster) -> None:
        leader = await kafka_cluster.leader_of(topic, 0)
        await kafka_cluster.kill(leader)          # SIGKILL; terminate() sends SIGTERM
        await kafka_cluster.restart(leader)       # on its data, ready when it returns
        await kafka_cluster.wait_full_isr(topic, 0)
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from tests.support.kafka import run_local_kafka, wait_for
from tests.support.kafka_clients import group_and_transactions_work, topic_config

NODES = 3
START_TIMEOUT_S = 180.0
#: Leader election after a kill takes the broker session timeout (6 s) plus the election.
FAILOVER_TIMEOUT_S = 60.0
METADATA_TIMEOUT_S = 30.0


@dataclass
class LocalCluster:
    """A local KRaft cluster of ``nodes`` combined broker+controller nodes (ids 1..nodes)."""

    workdir: Path
    nodes: int = NODES
    owner_pid: int = field(default_factory=os.getpid)
    bootstrap: str = ""

    @property
    def state_file(self) -> Path:
        return self.workdir / "state.json"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def _script(self, *args: str) -> str:
        return run_local_kafka(self.state_file, *args)

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        """Start every node and wait until each logs that it started; the bootstrap list."""
        self.bootstrap = self._script(
            "start",
            "--nodes",
            str(self.nodes),
            "--data-dir",
            str(self.data_dir),
            "--wait",
            "--timeout",
            str(timeout),
            "--owner-pid",
            str(self.owner_pid),
        )
        return self.bootstrap

    def stop(self, *, keep: bool = False) -> None:
        """Stop every node; delete the data unless ``keep``."""
        self._script("stop", *(["--keep"] if keep else []))

    def _nodes(self) -> list[dict[str, Any]]:
        return list(json.loads(self.state_file.read_text())["nodes"])

    def node_bootstrap(self, node: int) -> str:
        """``127.0.0.1:PORT`` of one node."""
        return str(self._nodes()[node - 1]["bootstrap"])

    def up(self) -> list[int]:
        """Ids of the nodes not stopped or killed through this class."""
        return [n["node_id"] for n in self._nodes() if not n["stopped"]]

    def live_bootstrap(self) -> str:
        """Bootstrap list of the nodes that are up (a client skips no dead address)."""
        return ",".join(self.node_bootstrap(node) for node in self.up())

    def log_file(self, node: int) -> Path:
        return self.data_dir / f"node-{node}" / "server.log"

    async def kill(self, node: int) -> None:
        """SIGKILL one node (returns once the process is gone)."""
        await asyncio.to_thread(self._script, "stop-node", str(node), "--kill")

    async def terminate(self, node: int) -> None:
        """SIGTERM one node (a controlled shutdown: leadership moves first)."""
        await asyncio.to_thread(self._script, "stop-node", str(node))

    async def restart(self, node: int, timeout: float = START_TIMEOUT_S) -> None:
        """Start a stopped node on its data dir and ports; returns when it is ready."""
        await asyncio.to_thread(
            self._script, "start-node", str(node), "--wait", "--timeout", str(timeout)
        )

    async def admin(self) -> AIOKafkaAdminClient:
        """A started admin client bootstrapped from the live nodes (the caller closes it)."""
        client = AIOKafkaAdminClient(bootstrap_servers=self.live_bootstrap())
        await client.start()
        return client

    async def partition(self, topic: str, partition: int) -> dict[str, Any]:
        """The partition's metadata (``leader``, ``replicas``, ``isr``) from a live node.

        Retried while the request lands on a node that just died: until the controller
        fences it, metadata still lists it and the admin client may pick it.
        """
        described = await wait_for(lambda: self._describe(topic), METADATA_TIMEOUT_S, interval=0.2)
        if not described or described[0]["error_code"] != 0:
            raise LookupError(f"topic {topic} not found: {described}")
        for found in described[0]["partitions"]:
            if found["partition"] == partition:
                return dict(found)
        raise LookupError(f"{topic} has no partition {partition}")

    async def _describe(self, topic: str) -> list[Any] | None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.live_bootstrap())
        try:
            await admin.start()
            return list(await admin.describe_topics([topic]))
        except KafkaError:
            return None
        finally:
            await admin.close()

    async def leader_of(self, topic: str, partition: int) -> int:
        """The node id leading ``topic``/``partition`` (-1 while none is elected)."""
        return int((await self.partition(topic, partition))["leader"])

    async def wait_new_leader(
        self, topic: str, partition: int, old: int, timeout: float = FAILOVER_TIMEOUT_S
    ) -> int:
        """Wait until a node other than ``old`` leads the partition; return its id."""

        async def elected() -> int:
            leader = await self.leader_of(topic, partition)
            return leader if leader not in (old, -1) else 0

        return int(await wait_for(elected, timeout, interval=0.2, message="no new leader"))

    async def wait_full_isr(
        self, topic: str, partition: int, timeout: float = FAILOVER_TIMEOUT_S
    ) -> list[int]:
        """Wait until the partition has a leader and every replica is in sync again;
        return the ISR (node ids, sorted)."""

        async def in_sync() -> list[int]:
            try:
                found = await self.partition(topic, partition)
            except LookupError:  # a node that has not seen the topic's metadata yet
                return []
            led = found["leader"] >= 0 and set(found["isr"]) == set(found["replicas"])
            return sorted(found["isr"]) if led else []

        message = f"{topic}[{partition}] has no full ISR"
        return list(await wait_for(in_sync, timeout, interval=0.2, message=message))

    async def create_topic(
        self, name: str, partitions: int = 3, replication: int = NODES, min_isr: int = 2
    ) -> str:
        """Create a topic (RF ``replication``, ``min.insync.replicas`` ``min_isr``) and wait
        until each partition has a leader and a full ISR."""
        admin = await self.admin()
        try:
            configs = {"min.insync.replicas": str(min_isr)}
            await admin.create_topics(
                [NewTopic(name, partitions, replication, topic_configs=configs)]
            )
        finally:
            await admin.close()
        for partition in range(partitions):
            await self.wait_full_isr(name, partition)
        return name

    async def topic_config(self, topic: str) -> dict[str, str]:
        """The topic's effective configs (``describe_configs``)."""
        return await topic_config(self.live_bootstrap(), topic)

    async def heal(self) -> None:
        """Restart every node a test stopped, so the next test finds the whole cluster."""
        for node in set(range(1, self.nodes + 1)) - set(self.up()):
            await self.restart(node)


@pytest.fixture(scope="session")
def _local_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path_factory.mktemp("kafka-cluster"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def _ready_cluster(_local_cluster: LocalCluster) -> LocalCluster:
    """The cluster once a transaction commits and a consumer group joins on it."""
    started = time.monotonic()
    await group_and_transactions_work(_local_cluster.bootstrap, started + START_TIMEOUT_S)
    return _local_cluster


@pytest_asyncio.fixture(loop_scope="session")
async def kafka_cluster(_ready_cluster: LocalCluster) -> AsyncIterator[LocalCluster]:
    """The session's 3-node cluster with every node up, for ``integration`` tests only."""
    await _ready_cluster.heal()
    yield _ready_cluster
    await _ready_cluster.heal()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses ``kafka_cluster`` must be marked ``integration`` (so ``-m "not
    integration"`` runs never start three JVMs): fail the collection otherwise."""
    unmarked = [
        item.nodeid
        for item in items
        if "kafka_cluster" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("integration") is None
    ]
    if unmarked:
        raise pytest.UsageError(f"kafka_cluster needs @pytest.mark.integration: {unmarked}")
