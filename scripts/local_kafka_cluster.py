"""A local 3-node Apache Kafka cluster (KRaft) from the same jars as ``local_kafka.py``.

The commands are ``local_kafka.py``'s (it adds them to its parser); the process helpers come
from ``kafka_node.py``, which both use.

Standard library only. Every node is a combined broker+controller; the three controllers
form the quorum (formatted with ``--initial-controllers``, KIP-853). Each node has its own
ports and data dir and can be stopped (SIGTERM, or SIGKILL with ``--kill``) and started
again on its data, so tests can kill a partition leader and watch it rejoin the ISR.

    python3 scripts/local_kafka.py start --nodes 3 --wait   # last line: host:port,host:port,...
    python3 scripts/local_kafka.py status                   # one line per node, then a summary
    python3 scripts/local_kafka.py stop-node 2 --kill
    python3 scripts/local_kafka.py start-node 2 --wait
    python3 scripts/local_kafka.py stop                     # every node; --keep keeps the data

Internal topics (offsets, transactions, share state) and auto-created topics get
replication factor 3 and ``min.insync.replicas`` 2, as on a production cluster.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, cast

from impact_cli import supervisor

from scripts import kafka_node as base
from scripts.kafka_config import (
    SERVER_LOG_NAME,
    broker_settings,
    formatted_cluster_id,
    log4j2_xml,
    recorded_ports,
    render_properties,
)

Node = dict[str, Any]
State = dict[str, Any]
#: A dead node is fenced after this long without a heartbeat (Kafka's default: 9 s), so a
#: killed leader's partitions move within seconds on loopback.
BROKER_SESSION_TIMEOUT_MS = 6000
BROKER_HEARTBEAT_INTERVAL_MS = 1000


def kafka_uuid() -> str:
    """A random id in Kafka's text form (url-safe base64, no padding, no leading '-')."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def quorum_bootstrap(controller_ports: list[int]) -> str:
    return ",".join(f"127.0.0.1:{port}" for port in controller_ports)


def initial_controllers(controller_ports: list[int], directory_ids: list[str]) -> str:
    """``id@host:port:directory-id`` of every voter, the same string for every node."""
    voters = zip(controller_ports, directory_ids, strict=True)
    return ",".join(
        f"{node_id}@127.0.0.1:{port}:{directory}"
        for node_id, (port, directory) in enumerate(voters, start=1)
    )


def node_settings(
    node_id: int, port: int, controller_ports: list[int], data_dir: Path
) -> dict[str, str]:
    """One combined node of the cluster: the single node's settings with its own id and
    ports, the whole controller quorum, and replicated internal topics (RF 3, min ISR 2)."""
    settings = broker_settings(port, controller_ports[node_id - 1], data_dir)
    replicas = str(min(3, len(controller_ports)))
    min_isr = str(max(1, min(2, len(controller_ports) - 1)))
    settings.update(
        {
            "node.id": str(node_id),
            "controller.quorum.bootstrap.servers": quorum_bootstrap(controller_ports),
            "offsets.topic.replication.factor": replicas,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": min_isr,
            "default.replication.factor": replicas,
            "min.insync.replicas": min_isr,
            "broker.session.timeout.ms": str(BROKER_SESSION_TIMEOUT_MS),
            "broker.heartbeat.interval.ms": str(BROKER_HEARTBEAT_INTERVAL_MS),
        }
    )
    return settings


def node_dir(root: Path, node_id: int) -> Path:
    return root / f"node-{node_id}"


def plan_nodes(root: Path, count: int) -> tuple[list[Node], bool]:
    """Ports and dirs of ``count`` nodes; reuses the ports of storage formatted before.
    Returns the nodes and whether their storage is already formatted."""
    dirs = [node_dir(root, node_id) for node_id in range(1, count + 1)]
    formatted = [formatted_cluster_id(path) is not None for path in dirs]
    if any(formatted) and not all(formatted):
        raise SystemExit(f"{root}: only some nodes are formatted; delete it or pass another")
    spare = iter(base.free_ports(2 * count))
    nodes = []
    for node_id, path in enumerate(dirs, start=1):
        port, controller_port = recorded_ports(path) or (next(spare), next(spare))
        nodes.append(
            {
                "node_id": node_id,
                "port": port,
                "controller_port": controller_port,
                "bootstrap": f"127.0.0.1:{port}",
                "data_dir": str(path),
                "pid": 0,
                "stopped": True,
            }
        )
    return nodes, all(formatted)


def write_node_config(node: Node, controller_ports: list[int]) -> Path:
    path = Path(node["data_dir"])
    path.mkdir(parents=True, exist_ok=True)
    settings = node_settings(node["node_id"], node["port"], controller_ports, path)
    (path / "server.properties").write_text(render_properties(settings))
    (path / "log4j2.xml").write_text(log4j2_xml(path / SERVER_LOG_NAME))
    return path / "server.properties"


def format_nodes(nodes: list[Node], controller_ports: list[int]) -> None:
    """Format every node's storage with one cluster id and the same initial voters (in
    parallel: each format is a JVM start)."""
    cluster_id = kafka_uuid()
    voters = initial_controllers(controller_ports, [kafka_uuid() for _ in nodes])
    formats = [
        subprocess.Popen(
            base.java_command(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(Path(node["data_dir"]) / "server.properties"),
                "--initial-controllers",
                voters,
                heap="256m",
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for node in nodes
    ]
    for node, process in zip(nodes, formats, strict=True):
        _, errors = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"formatting node {node['node_id']} failed:\n{errors}")


def launch(node: Node, owner_pid: int) -> None:
    """Start the node's JVM on its data dir; the log offset marks where this start begins."""
    path = Path(node["data_dir"])
    log_file = path / SERVER_LOG_NAME
    node["log_offset"] = log_file.stat().st_size if log_file.exists() else 0
    node["started_at"] = time.time()
    command = base.java_command(
        "kafka.Kafka", str(path / "server.properties"), log_config=path / "log4j2.xml"
    )
    pid = base.spawn_broker(command, path)
    node["pid"], node["stopped"] = pid, False
    if owner_pid:
        base.spawn_watchdog(owner_pid, pid)
    base.log(f"node {node['node_id']} started: pid {pid} on {node['bootstrap']}")


def node_ready(node: Node) -> bool:
    """The port accepts and this start's part of the log says the server started."""
    log_file = Path(node["data_dir"]) / SERVER_LOG_NAME
    if not log_file.exists() or not base.port_accepts(int(node["port"])):
        return False
    with log_file.open("rb") as log:
        log.seek(int(node.get("log_offset", 0)))
        return base.READY_LOG_LINE.encode() in log.read()


def node_up(node: Node) -> bool:
    return not node["stopped"] and base.pid_alive(int(node["pid"]))


def wait_nodes(nodes: list[Node], timeout: float) -> float:
    """Block until every node is ready; return seconds since the earliest start."""
    deadline = time.monotonic() + timeout
    pending = list(nodes)
    while pending:
        for node in list(pending):
            if not base.pid_alive(int(node["pid"])):
                logs = base.startup_logs(Path(node["data_dir"]))
                raise SystemExit(f"node {node['node_id']} exited during startup:\n{logs}")
            if node_ready(node):
                pending.remove(node)
        if pending and time.monotonic() > deadline:
            waiting = [node["node_id"] for node in pending]
            logs = base.startup_logs(Path(pending[0]["data_dir"]))
            raise SystemExit(f"nodes {waiting} not ready after {timeout:.0f} s:\n{logs}")
        if pending:
            time.sleep(0.1)
    return time.time() - min(float(node["started_at"]) for node in nodes)


def write_state(state_file: Path, state: State) -> None:
    state_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = state_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2) + "\n")
    temporary.replace(state_file)


def read_cluster(state_file: Path) -> State:
    state = cast("State | None", base.read_state(state_file))
    if state is None or "nodes" not in state:
        raise SystemExit(f"no cluster recorded in {state_file} (start --nodes 3 first)")
    return state


def find_node(state: State, node_id: int) -> Node:
    for node in state["nodes"]:
        if node["node_id"] == node_id:
            return dict(node)
    raise SystemExit(f"no node {node_id}: the cluster has nodes 1-{len(state['nodes'])}")


def put_node(state_file: Path, node: Node) -> None:
    state = read_cluster(state_file)
    state["nodes"] = [node if n["node_id"] == node["node_id"] else n for n in state["nodes"]]
    write_state(state_file, state)


def start_cluster(args: argparse.Namespace) -> None:
    existing = cast("State | None", base.read_state(args.state_file))
    if existing and "nodes" in existing:
        if any(node_up(node) for node in existing["nodes"]):
            base.log("cluster already running")
            print(existing["bootstrap"])
            return
        if args.nodes < 2:
            raise SystemExit(f"a stopped cluster is recorded in {args.state_file}: pass --nodes")
    if not base.jars_present():
        base.fetch()
    root = Path(args.data_dir or tempfile.mkdtemp(prefix="kafka-cluster-")).resolve()
    nodes, formatted = plan_nodes(root, args.nodes)
    controller_ports = [int(node["controller_port"]) for node in nodes]
    for node in nodes:
        write_node_config(node, controller_ports)
    if formatted:
        base.log(f"reusing the cluster formatted in {root}")
    else:
        format_nodes(nodes, controller_ports)
    for node in nodes:
        launch(node, args.owner_pid)
    bootstrap = ",".join(node["bootstrap"] for node in nodes)
    state = {"bootstrap": bootstrap, "data_dir": str(root), "owner_pid": args.owner_pid}
    write_state(args.state_file, {**state, "nodes": nodes})
    if args.wait:
        try:
            seconds = wait_nodes(nodes, args.timeout)
        except SystemExit:
            supervisor.stop([supervisor.Pid(int(node["pid"])) for node in nodes], 10.0)
            args.state_file.unlink(missing_ok=True)
            raise
        base.log(f"{len(nodes)} nodes ready in {seconds:.1f} s")
    print(bootstrap)


def stop_node(args: argparse.Namespace) -> None:
    node = find_node(read_cluster(args.state_file), args.node)
    pid = int(node["pid"])
    if args.kill:
        supervisor.kill(supervisor.Pid(pid))
    else:
        supervisor.stop([supervisor.Pid(pid)], args.timeout)
    node["stopped"] = True
    put_node(args.state_file, node)
    base.log(f"node {args.node} {'killed' if args.kill else 'stopped'} (pid {pid})")


def start_node(args: argparse.Namespace) -> None:
    state = read_cluster(args.state_file)
    node = find_node(state, args.node)
    if node_up(node):
        base.log(f"node {args.node} already running (pid {node['pid']})")
    else:
        launch(node, int(state.get("owner_pid") or 0))
        put_node(args.state_file, node)
        if args.wait:
            base.log(f"node {args.node} ready in {wait_nodes([node], args.timeout):.1f} s")
    print(node["bootstrap"])


def stop_cluster(args: argparse.Namespace) -> None:
    """SIGTERM every node at once (one by one, the last would wait for a lost quorum),
    then SIGKILL what still runs after ``--timeout``."""
    state = read_cluster(args.state_file)
    supervisor.stop([supervisor.Pid(int(node["pid"])) for node in state["nodes"]], args.timeout)
    base.log(f"stopped {len(state['nodes'])} nodes")
    if not args.keep:
        shutil.rmtree(state["data_dir"], ignore_errors=True)
    args.state_file.unlink(missing_ok=True)


def status_cluster(args: argparse.Namespace) -> int:
    """One line per node, then ``up=1,3 of 3 bootstrap=...``; 0 when all run, else 1."""
    state = read_cluster(args.state_file)
    up = []
    for node in state["nodes"]:
        running = node_up(node)
        word = ("running" if node_ready(node) else "starting") if running else "stopped"
        print(f"node {node['node_id']} {word} pid={node['pid']} bootstrap={node['bootstrap']}")
        up += [str(node["node_id"])] if running else []
    print(f"up={','.join(up) or '-'} of {len(state['nodes'])} bootstrap={state['bootstrap']}")
    return 0 if len(up) == len(state["nodes"]) else 1


def wait_cluster(args: argparse.Namespace) -> None:
    """Wait for every node not deliberately stopped."""
    state = read_cluster(args.state_file)
    nodes = [node for node in state["nodes"] if not node["stopped"]]
    base.log(f"nodes ready ({wait_nodes(nodes, args.timeout):.1f} s since start)")
    print(state["bootstrap"])


def add_commands(commands: Any) -> None:
    """The node commands, added to ``local_kafka.py``'s parser."""
    stop_parser = commands.add_parser("stop-node", help="stop one node of the cluster")
    stop_parser.add_argument("node", type=int)
    stop_parser.add_argument("--kill", action="store_true", help="SIGKILL instead of SIGTERM")
    stop_parser.add_argument("--timeout", type=float, default=20.0)
    start_parser = commands.add_parser("start-node", help="start a stopped node on its data")
    start_parser.add_argument("node", type=int)
    start_parser.add_argument("--wait", action="store_true", help="block until ready")
    start_parser.add_argument("--timeout", type=float, default=90.0)


def is_cluster_command(args: argparse.Namespace) -> bool:
    if args.command in ("stop-node", "start-node"):
        return True
    if args.command == "start" and args.nodes > 1:
        return True
    if args.command in ("start", "stop", "status", "wait"):
        state = base.read_state(args.state_file)
        return state is not None and "nodes" in state
    return False


def run(args: argparse.Namespace) -> int:
    handlers = {
        "start": start_cluster,
        "stop-node": stop_node,
        "start-node": start_node,
        "stop": stop_cluster,
        "wait": wait_cluster,
    }
    if args.command == "status":
        return status_cluster(args)
    handlers[args.command](args)
    return 0
