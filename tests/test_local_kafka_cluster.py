"""The 3-node cluster mode of scripts/local_kafka.py: node settings, voters, reused ports
(the cluster itself runs in tests/integration/test_kafka_cluster.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scripts import local_kafka_cluster
from tests.support import kafka as kafka_support


def test_cluster_nodes_share_the_quorum_and_replicate_internal_topics(tmp_path: Path) -> None:
    controllers = [9101, 9102, 9103]
    settings = local_kafka_cluster.node_settings(2, 9092, controllers, tmp_path)
    assert settings["node.id"] == "2"
    assert settings["process.roles"] == "broker,controller"
    assert settings["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9102"
    assert settings["controller.quorum.bootstrap.servers"] == (
        "127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103"
    )
    replication = {
        key: value
        for key, value in settings.items()
        if "replication.factor" in key or "min.isr" in key or key == "min.insync.replicas"
    }
    assert replication == {
        "offsets.topic.replication.factor": "3",
        "transaction.state.log.replication.factor": "3",
        "transaction.state.log.min.isr": "2",
        "share.coordinator.state.topic.replication.factor": "3",
        "share.coordinator.state.topic.min.isr": "2",
        "default.replication.factor": "3",
        "min.insync.replicas": "2",
    }


def test_initial_controllers_name_every_voter_with_its_directory() -> None:
    voters = local_kafka_cluster.initial_controllers([9101, 9102, 9103], ["a", "b", "c"])
    assert voters == "1@127.0.0.1:9101:a,2@127.0.0.1:9102:b,3@127.0.0.1:9103:c"
    ids = {local_kafka_cluster.kafka_uuid() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(text) == 22 and not text.startswith("-") for text in ids)


def test_a_formatted_cluster_keeps_its_ports(tmp_path: Path) -> None:
    nodes, formatted = local_kafka_cluster.plan_nodes(tmp_path, 3)
    assert not formatted
    assert len({n["port"] for n in nodes} | {n["controller_port"] for n in nodes}) == 6
    controllers = [n["controller_port"] for n in nodes]
    for node in nodes:
        local_kafka_cluster.write_node_config(node, controllers)
        meta = Path(node["data_dir"]) / "logs" / "meta.properties"
        meta.parent.mkdir()
        meta.write_text(f"node.id={node['node_id']}\ncluster.id=Aqy1P6mxShmk_vHMbIhejQ\n")
    again, formatted = local_kafka_cluster.plan_nodes(tmp_path, 3)
    assert formatted
    assert [(n["port"], n["controller_port"]) for n in again] == [
        (n["port"], n["controller_port"]) for n in nodes
    ]
    (Path(nodes[2]["data_dir"]) / "logs" / "meta.properties").unlink()
    with pytest.raises(SystemExit, match="only some nodes are formatted"):
        local_kafka_cluster.plan_nodes(tmp_path, 3)


def test_node_commands_without_a_cluster_say_so(tmp_path: Path) -> None:
    state_file = str(tmp_path / "state.json")
    script = str(kafka_support.LOCAL_KAFKA_SCRIPT)
    completed = subprocess.run(
        [sys.executable, script, "--state-file", state_file, "stop-node", "2", "--kill"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.strip() == (
        f"no cluster recorded in {state_file} (start --nodes 3 first)"
    )
