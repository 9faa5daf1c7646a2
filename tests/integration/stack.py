"""The four services as real processes on the test broker, isolated by a topic prefix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("orchestrator", "measure", "evaluate", "allocate")


class ServiceStack:
    """Starts ``python -m impact_<service>.service`` replicas with their own topics and groups."""

    def __init__(
        self, bootstrap: str, registry_url: str, log_dir: Path, replicas: dict[str, int]
    ) -> None:
        self.prefix = f"it{uuid.uuid4().hex[:8]}."
        self.log_dir = log_dir
        self.replicas = {name: replicas.get(name, 1) for name in SERVICES}
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "SCHEMA_REGISTRY_URL": registry_url,
            "IMPACT_TOPIC_PREFIX": self.prefix,
            "IMPACT_CHANGELOG_TOPIC": f"{self.prefix}orchestrator.changelog",
            "IMPACT_DATA_ROOT": str(ROOT),
            "IMPACT_LOG_LEVEL": "DEBUG",
            "IMPACT_TICK_INTERVAL_S": "0.2",
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> ServiceStack:
        for service, count in self.replicas.items():
            for index in range(count):
                self.start_replica(service, index)
        return self

    def start_replica(self, service: str, index: int) -> None:
        name = f"{service}-{index}"
        env = {**self.env, "IMPACT_GROUP_ID": f"{self.prefix}{service}"}
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"impact_{service}.service"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_lines(self, name: str) -> list[dict[str, object]]:
        """The JSON log lines of one replica (non-JSON lines are skipped)."""
        lines = []
        for raw in (self.log_dir / f"{name}.log").read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                try:
                    lines.append(json.loads(raw))
                except json.JSONDecodeError:
                    continue
        return lines

    def processed_by_replica(self, service: str, event: str) -> Counter[str]:
        """How many ``event`` messages each replica of ``service`` processed."""
        topic = f"{self.prefix}{event.replace('_', '.')}.v1"
        counts: Counter[str] = Counter()
        for index in range(self.replicas[service]):
            name = f"{service}-{index}"
            for line in self.log_lines(name):
                if line.get("event") == "processed" and line.get("topic") == topic:
                    counts[name] += 1
        return counts

    def dead(self) -> list[str]:
        return [name for name, proc in self.processes.items() if proc.poll() is not None]
