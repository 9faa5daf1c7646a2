"""The broker and the schema registry as processes the fault suite stops and restarts.

- ``LocalBroker``: a KRaft broker from ``scripts/local_kafka.py`` on its own data dir and
  fixed ports, so ``stop()`` + ``start()`` restarts it on its data at the same address;
- ``RegistryProcess``: our schema registry on a fixed port and ``_schemas`` topic, so it
  can be stopped and started again at the same URL; several on one topic elect a writer
  (``tests.support.registry.writer_of`` finds it, ``registry_urls`` gives clients all).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from impact_cli import supervisor

from tests.support.kafka import unused_port

LOCAL_KAFKA = Path(__file__).resolve().parents[2] / "scripts" / "local_kafka.py"


class LocalBroker:
    """One broker on ``data_dir`` at a fixed address (``scripts/local_kafka.py``)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.state_file = data_dir.parent / f"{data_dir.name}-state.json"
        self.port, self.controller_port = unused_port(), unused_port()
        self.bootstrap = f"127.0.0.1:{self.port}"

    def _run(self, *args: str, timeout: float = 180.0) -> str:
        command = [sys.executable, str(LOCAL_KAFKA), "--state-file", str(self.state_file)]
        done = subprocess.run(
            [*command, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"local_kafka.py {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout[-2000:]}{done.stderr[-4000:]}"
            )
        return done.stdout.strip()

    def start(self) -> LocalBroker:
        """Start (or restart on its data) and wait until it accepts clients."""
        self._run(
            "start",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--controller-port",
            str(self.controller_port),
            "--wait",
            "--owner-pid",
            str(os.getpid()),
        )
        return self

    def stop(self, *, keep_data: bool = True) -> None:
        """SIGTERM the broker (SIGKILL after 20 s); keep its data dir unless told."""
        self._run("stop", *(["--keep"] if keep_data else []))

    def log_tail(self, chars: int = 3000) -> str:
        log = self.data_dir / "server.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


class RegistryProcess:
    """``python -m impact_registry`` on a fixed port, restartable at the same URL.

    Several on one ``topic`` are instances of one registry (decision 0065): give each its
    own ``name`` (its log files) and find the elected writer with
    ``tests.support.registry.writer_of``; clients take all their URLs comma-separated
    (``registry_urls``).
    """

    def __init__(
        self, bootstrap: str, topic: str, log_dir: Path, name: str = "registry", *args: str
    ) -> None:
        self.bootstrap, self.topic, self.log_dir = bootstrap, topic, log_dir
        self.name, self.args = name, args
        self.port = unused_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> RegistryProcess:
        """Start and wait until ``GET /subjects`` answers 200."""
        self.starts += 1
        log = self.log_dir / f"{self.name}-{self.starts}.log"
        command = [sys.executable, "-m", "impact_registry", "--bootstrap", self.bootstrap]
        command += ["--port", str(self.port), "--topic", self.topic, *self.args]
        self.process = supervisor.spawn(command, log)
        ready = supervisor.http_ok(f"{self.url}/subjects")
        supervisor.wait_ready(self.process, ready, timeout, log)
        return self

    def stop(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Stop the process (SIGKILL by default: the registry simply disappears)."""
        if self.process is not None:
            if sig == signal.SIGKILL:
                supervisor.kill(self.process)
            else:  # SIGTERM, SIGKILL after 20 s
                supervisor.stop([self.process], timeout=20)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: a zombie that neither heartbeats nor answers until ``resume``."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def writer(self) -> dict[str, Any]:
        """``GET /v1/metadata/writer``: ``{"url", "is_writer", "writer_url"}``."""
        return dict(httpx.get(f"{self.url}/v1/metadata/writer", timeout=5.0).json())

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def registry_urls(registries: list[RegistryProcess]) -> str:
    """``SCHEMA_REGISTRY_URL`` for clients of these instances (comma-separated)."""
    return ",".join(r.url for r in registries)
