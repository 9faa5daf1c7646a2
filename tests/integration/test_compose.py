"""docker-compose.yml for real: images built offline, stages scaled, the example manifest
published through the ``cli`` service, the report equal to embedded mode, nothing left.

Every container shares the host's network (compose.host.yml): all traffic stays on
127.0.0.1, Kafka and the registry on free ports, service health ports ephemeral.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.manifest import load_manifest

from tests.integration.stack import ROOT
from tests.support.docker import require_docker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

FILES = ["-f", str(ROOT / "docker-compose.yml"), "-f", str(ROOT / "compose.host.yml")]
STAGES = ("orchestrator", "measure", "evaluate", "allocate")
RUN_ID = "compose-run"
MEASURE_REQUESTED = "impact.measure.requested.v1"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Compose:
    """``docker compose -p NAME -f docker-compose.yml -f compose.host.yml ...``."""

    project: str
    env: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, timeout: float = 900) -> str:
        command = ["docker", "compose", "-p", self.project, *FILES, *args]
        done = subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise AssertionError(
                f"{' '.join(command[4:])} failed ({done.returncode}):\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{self.logs_tail()}"
            )
        return done.stdout

    def logs_tail(self) -> str:
        command = ["docker", "compose", "-p", self.project, *FILES, "logs", "--tail", "15"]
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True)
        return done.stdout[-6000:]

    def labelled(self, kind: str) -> list[str]:
        """Ids of the project's containers, networks or volumes still on the engine."""
        label = f"label=com.docker.compose.project={self.project}"
        listing = ["ps", "-a"] if kind == "container" else [kind, "ls"]
        out = subprocess.run(
            ["docker", *listing, "-q", "--filter", label], capture_output=True, text=True
        )
        return out.stdout.split()


@pytest.fixture(scope="module")
def compose() -> Iterator[Compose]:
    """Stand-in base images (offline), a fresh project with its own free ports."""
    require_docker(compose=True)
    images = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "docker_images.py"), "build"],
        capture_output=True,
        text=True,
    )
    assert images.returncode == 0, images.stderr
    kafka_port, controller_port, registry_port = free_ports(3)
    env = {
        **os.environ,
        "KAFKA_PORT": str(kafka_port),
        "KAFKA_CONTROLLER_PORT": str(controller_port),
        "REGISTRY_PORT": str(registry_port),
        "IMPACT_LOG_LEVEL": "DEBUG",  # per-message "processed" lines show who did the work
    }
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "IMPACT_TOPIC_PREFIX"):
        env.pop(name, None)
    project = Compose(f"impact-it-{uuid.uuid4().hex[:8]}", env)
    try:
        yield project
    finally:
        subprocess.run(
            ["docker", "compose", "-p", project.project, *FILES, "down", "-v", "--timeout", "20"],
            cwd=ROOT, env=env, capture_output=True,
        )  # fmt: skip


def outcome(run: dict[str, Any]) -> dict[str, Any]:
    """What must match between Kafka and embedded mode (not ids or timestamps)."""
    return {key: run[key] for key in ("status", "reports", "failures", "summary")}


def processed_by_container(compose: Compose, service: str, topic: str) -> Counter[str]:
    """Messages of ``topic`` each container of ``service`` processed (its DEBUG log lines)."""
    counts: Counter[str] = Counter()
    for container in compose("ps", "-q", service).split():
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        for line in (logs.stdout + logs.stderr).splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("event") == "processed" and entry.get("topic") == topic:
                    counts[container[:12]] += 1
    return counts


def test_compose_up_scaled_gives_the_embedded_report_and_down_leaves_nothing(
    compose: Compose,
) -> None:
    # 1. Build every image offline (stand-in bases, shared workspace image first).
    compose("build")
    # 2. Start with scaled stages; --wait returns once every health check passes.
    compose("up", "-d", "--wait", "--scale", "measure=3", "--scale", "evaluate=2")
    running = Counter(line.split()[0] for line in compose("ps", "--format", "{{.Service}}").split())
    assert {name: running[name] for name in STAGES} == {
        "orchestrator": 1,
        "measure": 3,
        "evaluate": 2,
        "allocate": 1,
    }
    assert len(compose.labelled("volume")) == 1  # kafka-data

    # 3. Publish the example manifest through the one-shot cli service, then tail it.
    published = compose(
        "run", "--rm", "cli", "publish", "--run-id", RUN_ID, "examples/manifest.yaml"
    )
    assert published.strip().splitlines()[-1] == RUN_ID
    tailed = compose("run", "--rm", "cli", "tail", RUN_ID, "--json", "--timeout", "600")
    report = json.loads(tailed)
    assert report["status"] == "completed"
    assert outcome(report) == outcome(
        run_embedded(load_manifest(ROOT / "examples" / "manifest.yaml"), run_id=RUN_ID)
    )

    # 4. At least two measure containers did work, and every command (8 pilots + one scale
    #    measurement per selected initiative) was processed. (Log lines are not commits:
    #    that nothing was lost or doubled is what the equal report shows.)
    work = processed_by_container(compose, "measure", MEASURE_REQUESTED)
    assert len([c for c in work.values() if c > 0]) >= 2, work
    assert sum(work.values()) >= report["summary"]["n_initiatives"] + len(report["reports"])

    # 5. down -v removes every container, network and volume of the project.
    compose("down", "-v", "--timeout", "20")
    assert compose.labelled("container") == []
    assert compose.labelled("network") == []
    assert compose.labelled("volume") == []
