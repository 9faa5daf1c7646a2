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
import contextlib
import fcntl
import json
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as a script: make ``scripts.kafka_config`` importable

from scripts.kafka_config import (  # noqa: E402
    SERVER_LOG_NAME,
    formatted_cluster_id,
    recorded_ports,
    server_properties,
    write_config,
)

__all__ = ["formatted_cluster_id", "recorded_ports", "server_properties", "write_config"]
POM = REPO_ROOT / "scripts" / "kafka" / "pom.xml"
LIBS_DIR = REPO_ROOT / ".cache" / "kafka" / "libs"
DEFAULT_STATE_FILE = REPO_ROOT / "var" / "kafka" / "state.json"
READY_LOG_LINE = "Kafka Server started"
MIN_JARS = 50


def log(message: str) -> None:
    """Progress goes to stderr so stdout stays parseable."""
    print(f"[local-kafka] {message}", file=sys.stderr, flush=True)


def classpath() -> str:
    return str(LIBS_DIR / "*")


def jars_present() -> bool:
    return LIBS_DIR.is_dir() and len(list(LIBS_DIR.glob("*.jar"))) >= MIN_JARS


def fetch() -> None:
    """Copy the broker's jars from Maven Central into .cache/kafka/libs (once, under a lock)."""
    LIBS_DIR.parent.mkdir(parents=True, exist_ok=True)
    with (LIBS_DIR.parent / "fetch.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if jars_present():
            log(f"jars already in {LIBS_DIR} ({len(list(LIBS_DIR.glob('*.jar')))} jars)")
            return
        download_jars()


def download_jars() -> None:
    if shutil.which("mvn") is None:
        raise SystemExit("mvn not found: install Maven (3.8+) to fetch the Kafka jars")
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=LIBS_DIR.parent))
    log(f"fetching Kafka jars with Maven into {LIBS_DIR} (about 15-40 s the first time) ...")
    started = time.monotonic()
    command = [
        "mvn",
        "-q",
        "-B",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
    ]
    try:
        # Maven's output is captured: 3.8 prints stray colour codes even in batch mode.
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise SystemExit(
                f"mvn failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}"
            )
        shutil.rmtree(LIBS_DIR, ignore_errors=True)
        staging.rename(LIBS_DIR)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(POM.parent / "target", ignore_errors=True)
    count = len(list(LIBS_DIR.glob("*.jar")))
    log(f"fetched {count} jars in {time.monotonic() - started:.1f} s")


#: Lowest port ``free_ports`` picks (below the kernel's ephemeral range, see below).
LOWEST_PORT = 10_000


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (outgoing connections' source ports)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def free_ports(count: int) -> list[int]:
    """Distinct ports that were free on 127.0.0.1 a moment ago (all bound at once).

    They lie below the ephemeral range when the kernel says where it is: a node restarted
    on its port must find it free, and while it is down an outgoing connection could get
    an ephemeral port as its source port and hold it.
    """
    low = _ephemeral_low()
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        candidates = list(range(LOWEST_PORT, low))
        random.shuffle(candidates)
        for sock in sockets:
            while candidates:
                try:
                    sock.bind(("127.0.0.1", candidates.pop()))
                    break
                except OSError:
                    continue
            else:
                sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def java_command(*args: str, log_config: Path | None = None, heap: str = "512m") -> list[str]:
    """A JVM tuned for a fast start on small machines (C1 only: about half the start time
    under load). ``LOCAL_KAFKA_JVM_OPTS`` is appended, e.g. ``-XX:TieredStopAtLevel=4``."""
    command = ["java", f"-Xmx{heap}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
    command += shlex.split(os.environ.get("LOCAL_KAFKA_JVM_OPTS", ""))
    if log_config is not None:
        command.append(f"-Dlog4j2.configurationFile={log_config}")
    return [*command, "-cp", classpath(), *args]


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


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0): reap it if it has exited.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def read_state(state_file: Path) -> dict[str, object] | None:
    if not state_file.exists():
        return None
    return dict(json.loads(state_file.read_text()))


def port_accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def log_says_started(log_file: Path) -> bool:
    return log_file.exists() and READY_LOG_LINE in log_file.read_text(errors="replace")


def log_tail(log_file: Path, lines: int = 40) -> str:
    if not log_file.exists():
        return f"(no log at {log_file})"
    return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])


def startup_logs(data_dir: Path) -> str:
    """The JVM's own output (crashes before logging starts) and the server log's tail."""
    return (
        f"--- {data_dir / 'stdout.log'}\n{log_tail(data_dir / 'stdout.log', 20)}\n"
        f"--- {data_dir / SERVER_LOG_NAME}\n{log_tail(data_dir / SERVER_LOG_NAME)}"
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
    stdout_file = (data_dir / "stdout.log").open("ab")
    process = subprocess.Popen(
        java_command("kafka.Kafka", str(properties), log_config=log_config),
        stdout=stdout_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    bootstrap = f"127.0.0.1:{port}"
    state: dict[str, object] = {
        "pid": process.pid,
        "bootstrap": bootstrap,
        "port": port,
        "controller_port": controller_port,
        "data_dir": str(data_dir),
        "started_at": started_at,
    }
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(state, indent=2) + "\n")
    log(f"started pid {process.pid} on {bootstrap}, data in {data_dir}")
    if args.owner_pid:
        spawn_watchdog(args.owner_pid, process.pid)
    if args.wait:
        try:
            seconds = wait_ready(state, args.timeout)
        except SystemExit:
            terminate(process.pid, 10.0)
            state_file.unlink(missing_ok=True)
            raise
        log(f"ready in {seconds:.1f} s")
    print(bootstrap)


def terminate(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL if the process still runs after ``timeout`` seconds."""
    if not pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        log(f"pid {pid} ignored SIGTERM for {timeout:.0f} s: SIGKILL")
        os.kill(pid, signal.SIGKILL)


def spawn_watchdog(owner_pid: int, broker_pid: int) -> None:
    """Stop the broker when its owner (e.g. a pytest run) dies without stopping it."""
    subprocess.Popen(
        [
            sys.executable,
            __file__,
            "watch",
            "--owner-pid",
            str(owner_pid),
            "--pid",
            str(broker_pid),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def watch(args: argparse.Namespace) -> None:
    while pid_alive(args.pid):
        if not pid_alive(args.owner_pid):
            terminate(args.pid, 20.0)
            return
        time.sleep(1.0)


def stop(args: argparse.Namespace) -> None:
    state_file: Path = args.state_file
    state = read_state(state_file)
    if state is None:
        log("not running (no state file)")
        return
    pid = int(str(state["pid"]))
    terminate(pid, args.timeout)
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
    cluster().add_commands(commands)
    return parser.parse_args(argv)


def cluster() -> Any:
    """The cluster commands' module (imported late: it imports this one)."""
    from scripts import local_kafka_cluster

    return local_kafka_cluster


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if cluster().is_cluster_command(args):
        return int(cluster().run(args))
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
