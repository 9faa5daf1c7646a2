"""Kafka fixtures (owned by the platform work): kafka_bootstrap, unused_port, wait_for.

Where the broker comes from, first match wins:
1. ``KAFKA_BOOTSTRAP_SERVERS`` (an already running broker);
2. a testcontainers Kafka container on the host network (``tests/support/kafka_container.py``),
   when a Docker engine answers and the image (``KAFKA_TEST_IMAGE``, default
   ``apache/kafka:4.1.1``, offline its stand-in from ``scripts/docker_images.py``) is present:
   CI starts the engine, so this path runs there (``IMPACT_TEST_KAFKA=jars`` skips it);
3. a local broker from Maven jars via ``scripts/local_kafka.py`` on free ports in a temp dir.

Before ``kafka_bootstrap`` hands out the address it checks real readiness with aiokafka.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.support.kafka_clients import group_and_transactions_work
from tests.support.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_KAFKA_SCRIPT = REPO_ROOT / "scripts" / "local_kafka.py"
READY_TIMEOUT_S = 90.0
DEFAULT_PARTITIONS = 6
DEFAULT_TEST_IMAGE = "apache/kafka:4.1.1"
CONTAINER_START_TIMEOUT_S = 180

TopicFactory = Callable[..., Awaitable[str]]

# What the session's broker setup took, shown in pytest's terminal summary.
_SESSION_REPORT: dict[str, str] = {}


def unused_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class KafkaBroker:
    """A broker the test session talks to, and where its log lives (if we started it)."""

    bootstrap: str
    origin: str
    log_file: Path | None = None

    def log_tail(self, lines: int = 60) -> str:
        if self.log_file is None or not self.log_file.exists():
            return "(no broker log available)"
        text = self.log_file.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@dataclass(frozen=True)
class ContainerBroker(KafkaBroker):
    """A broker in a testcontainers container; its log is the container's output."""

    container: Any = None

    def log_tail(self, lines: int = 60) -> str:
        return str(self.container.log_tail(lines))


def _container_broker(container: Any) -> Iterator[KafkaBroker]:
    started = time.monotonic()
    container.start(timeout=CONTAINER_START_TIMEOUT_S)
    _SESSION_REPORT["broker start (testcontainers)"] = f"{time.monotonic() - started:.1f} s"
    try:
        yield ContainerBroker(
            bootstrap=container.get_bootstrap_server(),
            origin=f"testcontainers {container.image}",
            container=container,
        )
    finally:
        container.stop()


def run_local_kafka(state_file: Path, *args: str) -> str:
    """Run ``scripts/local_kafka.py`` on ``state_file``; its last stdout line (the bootstrap
    address for ``start``). Raises RuntimeError with its output when it fails."""
    command = [sys.executable, str(LOCAL_KAFKA_SCRIPT), "--state-file", str(state_file), *args]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({completed.returncode}):\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    lines = completed.stdout.strip().splitlines()
    return lines[-1] if lines else ""


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """Provide a broker for the session (see the module docstring for the order)."""
    from_env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if from_env:
        yield KafkaBroker(bootstrap=from_env, origin="KAFKA_BOOTSTRAP_SERVERS")
        return
    image = os.environ.get("KAFKA_TEST_IMAGE", DEFAULT_TEST_IMAGE)
    if os.environ.get("IMPACT_TEST_KAFKA") != "jars":
        from tests.support import kafka_container

        if kafka_container.image_present(image):
            yield from _container_broker(kafka_container.LoopbackKafkaContainer(image))
            return
    workdir = tmp_path_factory.mktemp("kafka")
    state_file = workdir / "state.json"
    data_dir = workdir / "data"
    started = time.monotonic()
    bootstrap = run_local_kafka(
        state_file, "start", "--data-dir", str(data_dir), "--wait", "--owner-pid", str(os.getpid())
    )
    _SESSION_REPORT["broker start (local jars)"] = f"{time.monotonic() - started:.1f} s"
    try:
        yield KafkaBroker(
            bootstrap=bootstrap, origin="local jars", log_file=data_dir / "server.log"
        )
    finally:
        run_local_kafka(state_file, "stop")


async def admin_lists_topics(bootstrap: str, request_timeout_ms: int = 5000) -> bool:
    """Whether an admin client on ``bootstrap`` can list the topics (the broker answers)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=request_timeout_ms)
    try:
        await admin.start()
        await admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        await admin.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka_bootstrap(kafka_broker: KafkaBroker) -> str:
    """``127.0.0.1:PORT`` of a broker whose admin, group and transaction coordinators answer."""
    started = time.monotonic()
    deadline = started + READY_TIMEOUT_S
    try:
        await wait_for(
            lambda: admin_lists_topics(kafka_broker.bootstrap),
            timeout=READY_TIMEOUT_S,
            interval=0.5,
            message="admin client could not list topics",
        )
        await group_and_transactions_work(kafka_broker.bootstrap, deadline)
    except Exception as error:
        raise RuntimeError(
            f"Kafka at {kafka_broker.bootstrap} ({kafka_broker.origin}) not ready after "
            f"{time.monotonic() - started:.1f} s: {error!r}\n"
            f"--- broker log tail ---\n{kafka_broker.log_tail()}"
        ) from error
    _SESSION_REPORT["broker"] = f"{kafka_broker.bootstrap} ({kafka_broker.origin})"
    _SESSION_REPORT["client readiness check"] = f"{time.monotonic() - started:.1f} s"
    return kafka_broker.bootstrap


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka_admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client shared by the session."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def _leaders_elected(admin: AIOKafkaAdminClient, topic: str, partitions: int) -> bool:
    described = await admin.describe_topics([topic])
    if not described or described[0]["error_code"] != 0:
        return False
    ready = [p for p in described[0]["partitions"] if p["leader"] >= 0]
    return len(ready) == partitions


@pytest_asyncio.fixture(loop_scope="session")
async def topic_factory(kafka_admin: AIOKafkaAdminClient) -> AsyncIterator[TopicFactory]:
    """Async ``create(prefix="test", partitions=6) -> name``: a fresh uuid-named topic.

    The topic exists with elected leaders when the call returns; it is deleted at teardown.
    """
    created: list[str] = []

    async def create(prefix: str = "test", partitions: int = DEFAULT_PARTITIONS) -> str:
        name = f"{prefix}-{uuid.uuid4().hex}"
        await kafka_admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)]
        )
        created.append(name)
        await wait_for(
            lambda: _leaders_elected(kafka_admin, name, partitions),
            timeout=30,
            interval=0.05,
            message=f"topic {name} has no leaders",
        )
        return name

    yield create
    if created:
        with suppress(Exception):
            await kafka_admin.delete_topics(created)


@pytest_asyncio.fixture(loop_scope="session")
async def new_topic(topic_factory: TopicFactory) -> str:
    """A fresh 6-partition topic for one test."""
    return await topic_factory()


@pytest.fixture(name="unused_port")
def unused_port_fixture() -> int:
    """A free TCP port on 127.0.0.1."""
    return unused_port()


@pytest.fixture
def group_id() -> str:
    """A fresh consumer group id."""
    return f"test-group-{uuid.uuid4().hex}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Show where the session's broker came from and how long it took to be ready."""
    if _SESSION_REPORT:
        terminalreporter.section("kafka")
        for name, value in _SESSION_REPORT.items():
            terminalreporter.write_line(f"{name}: {value}")
