"""Configuration files of the local KRaft broker (``scripts/local_kafka.py``).

Standard library only: the script runs before the project's virtualenv exists.
"""

from __future__ import annotations

import os
from pathlib import Path

SERVER_LOG_NAME = "server.log"
META_PROPERTIES = Path("logs") / "meta.properties"
MIB = 1024 * 1024
#: Same default and variable as ``impact_kafka.config`` (this script runs without the
#: project's virtualenv, so it cannot import it; a test keeps them equal).
DEFAULT_MAX_MESSAGE_BYTES = 64 * MIB
BATCH_HEADROOM_BYTES = 1 * MIB
DEFAULT_SOCKET_REQUEST_MAX_BYTES = 100 * MIB


def max_message_bytes() -> int:
    """The largest event before compression (``IMPACT_MAX_MESSAGE_BYTES``)."""
    raw = os.environ.get("IMPACT_MAX_MESSAGE_BYTES", "")
    return int(raw) if raw.strip() else DEFAULT_MAX_MESSAGE_BYTES


def size_settings(event_bytes: int) -> dict[str, str]:
    """Broker limits that let record batches of events up to ``event_bytes`` through."""
    batch = event_bytes + BATCH_HEADROOM_BYTES
    return {
        "message.max.bytes": str(batch),
        "replica.fetch.max.bytes": str(batch),
        "socket.request.max.bytes": str(max(DEFAULT_SOCKET_REQUEST_MAX_BYTES, batch + MIB)),
    }


def server_properties(port: int, controller_port: int, data_dir: Path) -> str:
    """KRaft combined broker+controller on loopback, single-replica internal topics."""
    return render_properties(broker_settings(port, controller_port, data_dir))


def render_properties(settings: dict[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def broker_settings(port: int, controller_port: int, data_dir: Path) -> dict[str, str]:
    """The single node's settings (a cluster node starts from them, see local_kafka_cluster)."""
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir / "logs"),
        "num.partitions": "6",
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "6",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "6",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "transactional.id.expiration.ms": "3600000",
        **size_settings(max_message_bytes()),
    }


def write_config(port: int, controller_port: int, data_dir: Path) -> tuple[Path, Path]:
    data_dir.mkdir(parents=True, exist_ok=True)
    properties = data_dir / "server.properties"
    properties.write_text(server_properties(port, controller_port, data_dir))
    log_config = data_dir / "log4j2.xml"
    log_config.write_text(log4j2_xml(data_dir / SERVER_LOG_NAME))
    return properties, log_config


def log4j2_xml(log_file: Path) -> str:
    """log4j2 XML config (XML needs no extra parser jar, unlike YAML)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <File name="server" fileName="{log_file}">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="warn"/>
    <Root level="info"><AppenderRef ref="server"/></Root>
  </Loggers>
</Configuration>
"""


def formatted_cluster_id(data_dir: Path) -> str | None:
    """The cluster id of storage a previous ``start`` formatted in ``data_dir``, or None."""
    meta = data_dir / META_PROPERTIES
    if not meta.is_file():
        return None
    for line in meta.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "cluster.id":
            return value.strip()
    return None


def recorded_ports(data_dir: Path) -> tuple[int, int] | None:
    """``(port, controller port)`` from the ``server.properties`` of a previous start."""
    properties = data_dir / "server.properties"
    if not properties.is_file():
        return None
    settings = dict(
        line.split("=", 1) for line in properties.read_text().splitlines() if "=" in line
    )
    ports = {}
    for listener in settings.get("listeners", "").split(","):
        name, _, address = listener.partition("://")
        ports[name] = int(address.rpartition(":")[2])
    if "PLAINTEXT" not in ports or "CONTROLLER" not in ports:
        return None
    return ports["PLAINTEXT"], ports["CONTROLLER"]
