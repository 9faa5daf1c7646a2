#!/usr/bin/env python3
"""Run a local single-node Apache Kafka (KRaft) from Maven jars, without Docker.

Standard library only, so it works before the project's virtualenv exists.

    python3 scripts/local_kafka.py fetch
    python3 scripts/local_kafka.py start --wait      # last stdout line: 127.0.0.1:PORT
    python3 scripts/local_kafka.py status
    python3 scripts/local_kafka.py stop              # --keep keeps the data dir

``start --nodes 3`` starts a 3-node cluster instead (``scripts/local_kafka_cluster.py``:
``stop-node N [--kill]``, ``start-node N``; ``status``, ``wait`` and ``stop`` cover every node).

``start --data-dir DIR`` on a directory a previous ``start`` formatted reuses its storage,
cluster id and ports, so the broker comes back with its topics, offsets and transactions.
Event size limits follow ``IMPACT_MAX_MESSAGE_BYTES`` (default 64 MiB), like the clients.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Run as a script: make the ``scripts`` package and the process supervisor importable.
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "cli" / "src")]

from impact_cli import supervisor  # noqa: E402

from scripts import local_kafka_cluster as cluster  # noqa: E402
from scripts.kafka_config import (  # noqa: E402
    SERVER_LOG_NAME,
    formatted_cluster_id,
    recorded_ports,
    server_properties,
    write_config,
)
from scripts.kafka_node import (  # noqa: E402
    fetch,
    free_ports,
    jars_present,
    java_command,
    log,
    log_says_started,
    pid_alive,
    port_accepts,
    read_state,
    spawn_broker,
    spawn_watchdog,
    startup_logs,
)

__all__ = [
    "formatted_cluster_id",
    "free_ports",
    "java_command",
    "pid_alive",
    "recorded_ports",
    "server_properties",
    "spawn_broker",
    "write_config",
]
DEFAULT_STATE_FILE = REPO_ROOT / "var" / "kafka" / "state.json"


def choose_ports(args: argparse.Namespace, data_dir: Path) -> tuple[int, int]:
    """Formatted storage keeps its ports (clients and the quorum know them); else free
    ones. ``--port``/``--controller-port`` win."""
    recorded = recorded_ports(data_dir) if formatted_cluster_id(data_dir) else None
    if recorded is None:
        recorded = (0, 0)
    spare_port, spare_controller_port = free_ports(2)
    port = args.port or recorded[0] or spare_port
    controller_port = args.controller_port or recorded[1] or spare_controller_port
    for name, number in (("port", port), ("controller port", controller_port)):
        if number in recorded and port_accepts(number):
            raise SystemExit(
                f"the {name} {number} recorded in {data_dir} is in use: stop what listens "
                "there, or pass --port/--controller-port"
            )
    return port, controller_port


def format_storage(properties: Path) -> None:
    cluster_id = subprocess.run(
        java_command("kafka.tools.StorageTool", "random-uuid", heap="256m"),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    subprocess.run(
        java_command(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(properties),
            "--standalone",
            heap="256m",
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def wait_ready(state: dict[str, object], timeout: float) -> float:
    """Block until the port accepts and the log says the server started; return seconds."""
    pid = int(str(state["pid"]))
    port = int(str(state["port"]))
    data_dir = Path(str(state["data_dir"]))
    log_file = data_dir / SERVER_LOG_NAME
    started = float(str(state["started_at"]))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            raise SystemExit(f"broker (pid {pid}) exited during startup:\n{startup_logs(data_dir)}")
        if port_accepts(port) and log_says_started(log_file):
            return time.time() - started
        time.sleep(0.1)
    raise SystemExit(f"broker not ready after {timeout:.0f} s:\n{startup_logs(data_dir)}")


def start(args: argparse.Namespace) -> None:
    state_file: Path = args.state_file
    existing = read_state(state_file)
    if existing and pid_alive(int(str(existing["pid"]))):
        log(f"already running (pid {existing['pid']})")
        print(existing["bootstrap"])
        return
    if not jars_present():
        fetch()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="kafka-")).resolve()
    port, controller_port = choose_ports(args, data_dir)
    started_at = time.time()
    properties, log_config = write_config(port, controller_port, data_dir)
    if cluster_id := formatted_cluster_id(data_dir):
        log(f"reusing the storage formatted in {data_dir} (cluster id {cluster_id})")
    else:
        format_storage(properties)
    pid = spawn_broker(
        java_command("kafka.Kafka", str(properties), log_config=log_config), data_dir
    )
    bootstrap = f"127.0.0.1:{port}"
    state: dict[str, object] = {
        "pid": pid,
        "bootstrap": bootstrap,
        "port": port,
        "controller_port": controller_port,
        "data_dir": str(data_dir),
        "started_at": started_at,
    }
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(state, indent=2) + "\n")
    log(f"started pid {pid} on {bootstrap}, data in {data_dir}")
    if args.owner_pid:
        spawn_watchdog(args.owner_pid, pid)
    if args.wait:
        try:
            seconds = wait_ready(state, args.timeout)
        except SystemExit:
            supervisor.stop([supervisor.Pid(pid)], 10.0)
            state_file.unlink(missing_ok=True)
            raise
        log(f"ready in {seconds:.1f} s")
    print(bootstrap)


def watch(args: argparse.Namespace) -> None:
    while pid_alive(args.pid):
        if not pid_alive(args.owner_pid):
            supervisor.stop([supervisor.Pid(args.pid)], 20.0)
            return
        time.sleep(1.0)


def stop(args: argparse.Namespace) -> None:
    state_file: Path = args.state_file
    state = read_state(state_file)
    if state is None:
        log("not running (no state file)")
        return
    pid = int(str(state["pid"]))
    supervisor.stop([supervisor.Pid(pid)], args.timeout)
    log(f"stopped pid {pid}")
    if not args.keep:
        shutil.rmtree(str(state["data_dir"]), ignore_errors=True)
    state_file.unlink(missing_ok=True)


def status(args: argparse.Namespace) -> int:
    state = read_state(args.state_file)
    if state is None or not pid_alive(int(str(state["pid"]))):
        print("stopped")
        return 1
    ready = port_accepts(int(str(state["port"])))
    print(f"{'running' if ready else 'starting'} pid={state['pid']} bootstrap={state['bootstrap']}")
    return 0


def wait(args: argparse.Namespace) -> None:
    state = read_state(args.state_file)
    if state is None:
        raise SystemExit("not started (no state file)")
    seconds = wait_ready(state, args.timeout)
    log(f"ready ({seconds:.1f} s since start)")
    print(state["bootstrap"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--state-file",
        type=Path,
        default=Path(os.environ.get("LOCAL_KAFKA_STATE", DEFAULT_STATE_FILE)),
        help="where the running broker's pid, bootstrap and data dir are recorded",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="download the broker jars with Maven (once)")
    start_parser = commands.add_parser("start", help="start a broker in the background")
    start_parser.add_argument("--nodes", type=int, default=1, help="3: a 3-node cluster")
    start_parser.add_argument("--port", type=int, default=0, help="client port (default: free)")
    start_parser.add_argument("--controller-port", type=int, default=0)
    start_parser.add_argument("--data-dir", help="default: a new temporary directory")
    start_parser.add_argument("--wait", action="store_true", help="block until ready")
    start_parser.add_argument("--timeout", type=float, default=90.0)
    start_parser.add_argument(
        "--owner-pid", type=int, default=0, help="stop the broker when this process exits"
    )
    stop_parser = commands.add_parser("stop", help="stop the broker and delete its data")
    stop_parser.add_argument("--keep", action="store_true", help="keep the data dir")
    stop_parser.add_argument("--timeout", type=float, default=20.0)
    commands.add_parser("status", help="print whether the broker runs")
    wait_parser = commands.add_parser("wait", help="block until the started broker is ready")
    wait_parser.add_argument("--timeout", type=float, default=90.0)
    watch_parser = commands.add_parser("watch", help="(internal) stop the broker with its owner")
    watch_parser.add_argument("--owner-pid", type=int, required=True)
    watch_parser.add_argument("--pid", type=int, required=True)
    cluster.add_commands(commands)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if cluster.is_cluster_command(args):
        return cluster.run(args)
    if args.command == "fetch":
        fetch()
    elif args.command == "start":
        start(args)
    elif args.command == "stop":
        stop(args)
    elif args.command == "status":
        return status(args)
    elif args.command == "wait":
        wait(args)
    elif args.command == "watch":
        watch(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
