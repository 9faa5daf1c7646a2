#!/usr/bin/env python3
"""A private Docker engine and the ``docker compose`` v2 plugin, for machines without them.

Standard library only, so it runs before the project's virtualenv exists.

    python3 scripts/docker_engine.py start     # dockerd with its own data root and socket
    eval "$(python3 scripts/docker_engine.py env)"   # DOCKER_HOST, DOCKER_CONFIG
    python3 scripts/docker_engine.py compose   # build/cache the compose v2 plugin, print its path
    python3 scripts/docker_engine.py stop

The daemon (Debian's ``docker.io``, started as root) keeps images under the cache directory
(``docker_paths.cache_dir()``), so later runs on the same machine reuse them. It runs with no
bridge and no iptables rules: containers use host networking (``compose.host.yml``).
The compose plugin is built once from the Go module proxy and cached there too.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a script: make ``docker_paths`` and the process supervisor importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "cli" / "src"))
from docker_paths import cache_dir, log
from impact_cli import supervisor

COMPOSE_MODULE = "github.com/docker/compose/v2"
COMPOSE_VERSION = os.environ.get("IMPACT_COMPOSE_VERSION", "v2.29.7")
EXEC_ROOT = Path(os.environ.get("IMPACT_DOCKER_EXEC_ROOT", "/run/impact-engine-docker"))


def engine_dir() -> Path:
    return cache_dir() / "docker"


def socket_path() -> Path:
    return EXEC_ROOT / "docker.sock"


def pid_file() -> Path:
    return EXEC_ROOT / "dockerd.pid"


def docker_config_dir() -> Path:
    """``DOCKER_CONFIG``: holds ``cli-plugins/docker-compose`` (no credentials)."""
    return engine_dir() / "config"


def environment() -> dict[str, str]:
    return {"DOCKER_HOST": f"unix://{socket_path()}", "DOCKER_CONFIG": str(docker_config_dir())}


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=2)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(2)
        self.sock.connect(str(self.path))


def ping() -> bool:
    """True when the engine answers ``GET /_ping`` on our socket."""
    connection = _UnixHTTPConnection(socket_path())
    try:
        connection.request("GET", "/_ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def running_pid() -> int | None:
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file().read_text().strip())
        os.kill(pid, 0)
        return pid
    return None


def start(timeout: float) -> None:
    """Start dockerd in the background (no-op when ours already answers)."""
    if ping():
        log("docker", f"engine already up on {socket_path()}")
        return
    if shutil.which("dockerd") is None:
        raise SystemExit(
            "dockerd not found: apt-get install docker.io containerd runc (see docs/deployment.md)"
        )
    EXEC_ROOT.mkdir(parents=True, exist_ok=True)
    data_root = engine_dir() / "data"
    data_root.mkdir(parents=True, exist_ok=True)
    log_file = engine_dir() / "dockerd.log"
    command = [
        "dockerd",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        f"--data-root={data_root}",
        f"--exec-root={EXEC_ROOT}",
        f"--host=unix://{socket_path()}",
        f"--pidfile={pid_file()}",
    ]
    process = supervisor.spawn(command, log_file, new_session=True)
    try:
        supervisor.wait_ready(process, ping, timeout, log_file, interval=0.2)
    except (RuntimeError, TimeoutError) as exc:
        supervisor.kill(process)
        raise SystemExit(str(exc)) from None
    log("docker", f"engine up (pid {process.pid}), socket {socket_path()}, data {data_root}")


def stop(timeout: float) -> None:
    """SIGTERM dockerd (it stops its containerd), SIGKILL after ``timeout`` seconds."""
    pid = running_pid()
    if pid is None:
        log("docker", "engine not running")
        return
    supervisor.stop([supervisor.Pid(pid)], timeout)
    log("docker", f"engine stopped (pid {pid})")


def compose_binary() -> Path:
    return cache_dir() / "compose" / COMPOSE_VERSION / "docker-compose"


def build_compose() -> Path:
    """``go install`` the compose v2 CLI once (about 4 minutes, niced) into the cache."""
    target = compose_binary()
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():
            return target
        if shutil.which("go") is None:
            raise SystemExit("go not found: needed once to build the docker compose v2 plugin")
        go = cache_dir() / "go"
        with tempfile.TemporaryDirectory(dir=target.parent) as bin_dir:
            env = {
                **os.environ,
                "GOBIN": bin_dir,
                "GOPATH": str(go / "path"),
                "GOCACHE": str(go / "build"),
                "CGO_ENABLED": "0",
            }
            version_flag = f"-X {COMPOSE_MODULE}/internal.Version={COMPOSE_VERSION}"
            command = ["nice", "-n", "19", "go", "install", "-ldflags", version_flag]
            command.append(f"{COMPOSE_MODULE}/cmd@{COMPOSE_VERSION}")
            log("docker", f"building docker compose {COMPOSE_VERSION} (once, about 4 min) ...")
            started = time.monotonic()
            subprocess.run(command, env=env, check=True)
            Path(bin_dir, "cmd").rename(target)
        log("docker", f"built {target} in {time.monotonic() - started:.0f} s")
    return target


def install_compose() -> Path:
    """Make ``docker compose`` find the cached plugin through ``DOCKER_CONFIG``."""
    binary = build_compose()
    plugins = docker_config_dir() / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    link = plugins / "docker-compose"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(binary)
    return binary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start", help="start dockerd (idempotent)")
    start_parser.add_argument("--timeout", type=float, default=60.0)
    stop_parser = commands.add_parser("stop", help="stop the dockerd this script started")
    stop_parser.add_argument("--timeout", type=float, default=30.0)
    commands.add_parser("status", help="exit 0 when the engine answers")
    commands.add_parser("env", help="print export lines for DOCKER_HOST and DOCKER_CONFIG")
    commands.add_parser("compose", help="build (once) and install the compose v2 plugin")
    args = parser.parse_args(argv)
    if args.command == "start":
        start(args.timeout)
    elif args.command == "stop":
        stop(args.timeout)
    elif args.command == "status":
        up = ping()
        print(f"{'running' if up else 'stopped'} socket={socket_path()}")
        return 0 if up else 1
    elif args.command == "env":
        for key, value in environment().items():
            print(f"export {key}={value}")
    elif args.command == "compose":
        print(install_compose())
    return 0


if __name__ == "__main__":
    sys.exit(main())
