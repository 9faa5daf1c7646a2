"""Dependencies a test can take down and bring back: our registry on a fixed port, and a
dedicated single-node broker restarted on its own data (the session broker stays up)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from impact_cli import supervisor

from scripts import local_kafka
from tests.support.kafka import admin_lists_topics, unused_port, wait_for


class Registry:
    """``python -m impact_registry`` on one port and topic, stoppable and restartable."""

    def __init__(self, bootstrap: str, topic: str, log_dir: Path) -> None:
        self.bootstrap, self.topic, self.log_dir = bootstrap, topic, log_dir
        self.port = unused_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "impact_registry", "--bootstrap", self.bootstrap]
        command += ["--port", str(self.port), "--topic", self.topic]
        self.process = supervisor.spawn(
            command, self.log_dir / f"registry-{time.monotonic_ns()}.log"
        )

    async def wait_ready(self, timeout: float = 60) -> None:
        async def answers() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{self.url}/subjects")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_for(answers, timeout, interval=0.1, message=f"registry {self.url} not up")

    def stop(self) -> None:
        if self.process is not None:
            supervisor.stop([self.process], 20.0)
        self.process = None


class Broker:
    """A KRaft broker from the jars on fixed ports, killed and restarted on its data."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.state_file = workdir / "state.json"
        self.data_dir = workdir / "data"
        self.pid: int | None = None
        self.bootstrap = ""

    def start(self) -> None:
        """Format and start (once); ``restart`` reuses the data."""
        command = [sys.executable, str(local_kafka.__file__), "--state-file"]
        command += [str(self.state_file), "start", "--data-dir", str(self.data_dir), "--wait"]
        command += ["--owner-pid", str(os.getpid())]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        self.bootstrap = done.stdout.strip().splitlines()[-1]
        self.pid = int(json.loads(self.state_file.read_text())["pid"])

    def kill(self) -> None:
        """SIGKILL, as a crashed or unplugged broker."""
        assert self.pid is not None
        supervisor.kill(supervisor.Pid(self.pid))

    def restart(self) -> None:
        """Start the JVM again on the same config and data (no new storage format)."""
        properties = self.data_dir / "server.properties"
        log_config = self.data_dir / "log4j2.xml"
        java = local_kafka.java_command("kafka.Kafka", str(properties), log_config=log_config)
        self.pid = local_kafka.spawn_broker(java, self.data_dir)

    async def wait_ready(self, timeout: float = 120) -> None:
        await wait_for(
            lambda: admin_lists_topics(self.bootstrap, request_timeout_ms=3000),
            timeout,
            interval=0.5,
            message="broker did not come back",
        )

    def stop(self) -> None:
        if self.pid is not None:
            supervisor.stop([supervisor.Pid(self.pid)], 20.0)
            self.pid = None


async def sleep_outage(seconds: float) -> None:
    """The outage itself: a dependency stays down this long (a scenario, not a wait)."""
    await asyncio.sleep(seconds)
