"""The session broker as a testcontainers Kafka container, on loopback only.

testcontainers' ``KafkaContainer`` drives the Confluent image (``/etc/confluent/docker``
scripts) and publishes its port through a bridge network, whose addresses are off
loopback. ``LoopbackKafkaContainer`` keeps its life cycle (start script written into the
container, wait for "Kafka Server started", stop) and changes three things: the image is
the Apache one (``apache/kafka``, or the offline stand-in of ``scripts/docker_images.py``)
configured through its ``KAFKA_*`` environment; the container shares the host's network;
the broker listens on two free ports of 127.0.0.1. Broker settings are the ones of
``scripts/local_kafka.py``, so both paths run the same broker.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

from scripts import local_kafka

# The reaper (Ryuk) image cannot be pulled here; the fixture stops its container itself.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from testcontainers.community.kafka import KafkaContainer

DEFAULT_IMAGE = "apache/kafka:4.1.1"
DATA_DIR = "/var/lib/kafka/data"
CLUSTER_ID = "ImpactEngineTestsKRaft"


def image_present(image: str) -> bool:
    """True when a Docker engine answers and has ``image`` locally (nothing is pulled)."""
    try:
        result = subprocess.run(
            ["docker", "image", "inspect", image], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def env_name(key: str) -> str:
    """The apache/kafka image's spelling of a property: ``a.b_c-d`` → ``KAFKA_A_B__C___D``."""
    return "KAFKA_" + key.replace("-", "___").replace("_", "__").replace(".", "_").upper()


def broker_env(port: int, controller_port: int) -> dict[str, str]:
    """local_kafka's properties, with a static quorum (the image formats without
    ``--standalone``) and the image's data directory."""
    lines = local_kafka.server_properties(port, controller_port, Path(DATA_DIR))
    properties = dict(line.split("=", 1) for line in lines.splitlines() if line)
    del properties["controller.quorum.bootstrap.servers"]
    properties["controller.quorum.voters"] = f"1@127.0.0.1:{controller_port}"
    properties["log.dirs"] = DATA_DIR
    return {"CLUSTER_ID": CLUSTER_ID, **{env_name(k): v for k, v in properties.items()}}


class LoopbackKafkaContainer(KafkaContainer):
    """A single KRaft broker in a container on the host network, on 127.0.0.1 only."""

    def __init__(self, image: str = DEFAULT_IMAGE) -> None:
        super().__init__(image)
        self.port, self.controller_port = local_kafka.free_ports(2)
        self.ports: dict[Any, Any] = {}  # host networking publishes nothing
        self.env = broker_env(self.port, self.controller_port)
        self.with_kwargs(network_mode="host")
        self.wait_for = re.compile(r".*Kafka Server started.*")

    def configure(self) -> None:
        """Everything is set in ``__init__`` (the Confluent KRaft/ZooKeeper set-up is not
        for this image)."""

    def tc_start(self) -> None:
        """The start script the base class waits for: the image's own entry point."""
        self.create_file(b"exec /etc/kafka/docker/run\n", KafkaContainer.TC_START_SCRIPT)

    def get_bootstrap_server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 60) -> str:
        out, err = self.get_logs()
        text = (out + err).decode(errors="replace").splitlines()
        return "\n".join(text[-lines:])
