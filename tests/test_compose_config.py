"""docker-compose.yml as `docker compose config` reads it: every stage scales, every
container has an init, and the host-network override keeps all traffic on loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.docker import unavailable

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "docker-compose.yml"
HOST = ROOT / "compose.host.yml"
NODES = ("kafka-1", "kafka-2", "kafka-3")
STAGES = {"orchestrator", "measure", "evaluate", "allocate"}
OVERRIDES = (
    "IMPACT_",
    "KAFKA_",
    "SCHEMA_REGISTRY_URL",
    "REGISTRY_PORT",
    "BASE_IMAGE",
    "COMPOSE_",
)


def config(*files: Path, profiles: tuple[str, ...] = ("single", "cli")) -> dict[str, Any]:
    """``docker compose config`` of ``files`` with ``profiles`` (none: ``.env``'s)."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0:
        unavailable("needs docker compose v2 (python3 scripts/docker_engine.py compose)")
    command = ["docker", "compose", *(arg for p in profiles for arg in ("--profile", p))]
    command += [arg for file in files for arg in ("-f", str(file))]
    # the files' (and .env's) defaults, not whatever the shell sets
    env = {k: v for k, v in os.environ.items() if not k.startswith(OVERRIDES)}
    done = subprocess.run(
        [*command, "config", "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return dict(config(MAIN)["services"])


def test_every_service_is_there_with_an_init(services: dict[str, Any]) -> None:
    assert set(services) == STAGES | {"kafka", "topics", "registry", "cli", "dashboard"}
    assert all(service.get("init") is True for service in services.values())


def test_no_container_name_and_no_host_port_so_every_stage_scales(
    services: dict[str, Any],
) -> None:
    assert [name for name, s in services.items() if "container_name" in s] == []
    assert [name for name, s in services.items() if s.get("ports")] == ["dashboard"]
    for file in (MAIN, HOST):
        assert not re.search(r"^\s*container_name\s*:", file.read_text(), re.MULTILINE), file


def test_the_dashboard_is_published_on_the_hosts_loopback_only(services: dict[str, Any]) -> None:
    """One replica (it is not a stage), reachable from this machine alone."""
    ports = services["dashboard"]["ports"]
    assert [(p["host_ip"], p["target"], str(p["published"])) for p in ports] == [
        ("127.0.0.1", 8050, "8050")
    ]
    assert services["dashboard"]["depends_on"]["registry"]["condition"] == "service_healthy"


def test_stages_wait_for_topics_and_a_healthy_registry(services: dict[str, Any]) -> None:
    for name in STAGES:
        assert services[name]["depends_on"]["topics"]["condition"] == (
            "service_completed_successfully"
        )
        assert services[name]["depends_on"]["registry"]["condition"] == "service_healthy"
        assert services[name]["environment"]["IMPACT_TOPIC_PARTITIONS"] == "6"


def test_the_host_override_puts_every_container_and_build_on_loopback() -> None:
    merged = config(MAIN, HOST)
    assert "networks" not in merged or set(merged["networks"]) <= {"default"}
    for name, service in merged["services"].items():
        assert service["network_mode"] == "host", name
        if "build" in service:
            assert service["build"]["network"] == "host", name
        bootstrap = service.get("environment", {}).get("KAFKA_BOOTSTRAP_SERVERS")
        assert bootstrap in (None, "127.0.0.1:9092"), (name, bootstrap)


def test_without_a_profile_the_env_file_runs_the_single_broker() -> None:
    """``docker compose up``: .env's COMPOSE_PROFILES=single; a profile asked for replaces it."""
    assert set(config(MAIN, profiles=())["services"]) == STAGES | {
        "kafka",
        "topics",
        "registry",
        "dashboard",
    }


def test_the_cluster_profile_adds_three_quorum_nodes_with_replicated_internal_topics() -> None:
    services = config(MAIN, profiles=("cluster",))["services"]
    assert set(services) == STAGES | {"topics", "registry", "dashboard", *NODES}
    for number, name in enumerate(NODES, start=1):
        node = services[name]
        assert node["profiles"] == ["cluster"]
        assert node["networks"] == {"default": {"aliases": ["kafka"]}}
        assert node["init"] is True
        env = node["environment"]
        assert env["KAFKA_NODE_ID"] == str(number)
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == (
            "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
        )
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        replication = {k: v for k, v in env.items() if "REPLICA" in k or "ISR" in k}
        assert replication == {
            "KAFKA_DEFAULT_REPLICATION_FACTOR": "3",
            "KAFKA_MIN_INSYNC_REPLICAS": "2",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "3",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "3",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "2",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "3",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "2",
        }
        assert [v["source"] for v in node["volumes"]] == [f"{name}-data"]
    assert len({services[n]["environment"]["CLUSTER_ID"] for n in NODES}) == 1


BROKERS = {name: {"condition": "service_healthy", "required": False} for name in ("kafka", *NODES)}


def test_without_the_cluster_profile_nothing_of_it_runs(services: dict[str, Any]) -> None:
    assert not set(NODES) & set(services)
    assert services["topics"]["depends_on"] == BROKERS
    bootstraps = {
        s.get("environment", {}).get("KAFKA_BOOTSTRAP_SERVERS") for s in services.values()
    }
    assert bootstraps == {None, "kafka:9092"}


def test_the_cluster_profile_runs_the_stack_on_the_three_nodes() -> None:
    """`docker compose --profile cluster up`: no single broker; `kafka:9092` is the alias
    every node answers to, and replication follows the three brokers (auto: RF 3)."""
    services = config(MAIN, profiles=("cluster", "cli"))["services"]
    assert "kafka" not in services
    assert services["topics"]["depends_on"] == BROKERS
    for name in STAGES | {"topics", "registry", "dashboard", "cli"}:
        env = services[name]["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092", name
        assert "IMPACT_TOPIC_REPLICATION_FACTOR" not in env, name


def test_the_host_override_puts_the_cluster_on_distinct_loopback_ports() -> None:
    services = config(MAIN, HOST, profiles=("cluster",))["services"]
    voters = "1@127.0.0.1:19093,2@127.0.0.1:29093,3@127.0.0.1:39093"
    for number, name in enumerate(NODES, start=1):
        env = services[name]["environment"]
        assert services[name]["network_mode"] == "host"
        assert not services[name].get("networks"), name  # no alias on the host's network
        assert env["KAFKA_LISTENERS"] == (
            f"PLAINTEXT://127.0.0.1:{number}9092,CONTROLLER://127.0.0.1:{number}9093"
        )
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://127.0.0.1:{number}9092"
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == voters
        assert services[name]["healthcheck"]["test"][-1] == (
            f"exec 3<>/dev/tcp/127.0.0.1/{number}9092"
        )
