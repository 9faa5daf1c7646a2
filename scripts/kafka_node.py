"""The local broker's processes: jars, ports, the JVM command line, pids and logs.

Shared by ``local_kafka.py`` (one node, and the command line) and ``local_kafka_cluster.py``
(three nodes). Standard library only, so it works before the project's virtualenv exists;
processes start and stop through ``impact_cli.supervisor`` (standard library too), which
``local_kafka.py`` puts on the path.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shlex
import socket
import sys
from pathlib import Path

from impact_cli import supervisor

from scripts import maven_jars
from scripts.kafka_config import SERVER_LOG_NAME

REPO_ROOT = Path(__file__).resolve().parent.parent
POM = REPO_ROOT / "scripts" / "kafka" / "pom.xml"
LIBS_DIR = REPO_ROOT / ".cache" / "kafka" / "libs"
#: The command line whose ``watch`` command stops a broker with its owner.
LOCAL_KAFKA_SCRIPT = Path(__file__).resolve().with_name("local_kafka.py")
READY_LOG_LINE = "Kafka Server started"
MIN_JARS = 50


def log(message: str) -> None:
    """Progress goes to stderr so stdout stays parseable."""
    print(f"[local-kafka] {message}", file=sys.stderr, flush=True)


def classpath() -> str:
    return str(LIBS_DIR / "*")


def jars_present() -> bool:
    return maven_jars.jars_present(LIBS_DIR, MIN_JARS)


def fetch() -> None:
    """Copy the broker's jars from Maven Central into .cache/kafka/libs (once, under a lock)."""
    try:
        maven_jars.fetch_jars(POM, LIBS_DIR, min_jars=MIN_JARS, what="the Kafka jars", log=log)
    except maven_jars.MavenError as exc:
        raise SystemExit(str(exc)) from None


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


def pid_alive(pid: int) -> bool:
    """The process runs (a zombie child of ours is reaped and does not count)."""
    return supervisor.Pid(pid).poll() is None


def read_state(state_file: Path) -> dict[str, object] | None:
    if not state_file.exists():
        return None
    return dict(json.loads(state_file.read_text()))


def port_accepts(port: int) -> bool:
    return supervisor.tcp_open(port)()


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


def spawn_broker(command: list[str], data_dir: Path) -> int:
    """Start a broker JVM in its own session, its output appended to ``stdout.log``."""
    return supervisor.spawn(command, data_dir / "stdout.log", new_session=True).pid


def spawn_watchdog(owner_pid: int, broker_pid: int) -> None:
    """Stop the broker when its owner (e.g. a pytest run) dies without stopping it."""
    watch = [str(LOCAL_KAFKA_SCRIPT), "watch", "--owner-pid", str(owner_pid)]
    supervisor.spawn(
        [sys.executable, *watch, "--pid", str(broker_pid)], Path(os.devnull), new_session=True
    )
