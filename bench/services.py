"""Service replicas as processes (``python -m impact_<stage>.service``) on a topic prefix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from bench.broker import Platform
from bench.machine import ROOT
from bench.waiting import wait_until

ASSIGN_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0


class Services:
    """Replicas of some services, isolated from other runs by a fresh topic prefix and groups."""

    def __init__(self, platform: Platform, replicas: dict[str, int]) -> None:
        self.prefix = f"bench{uuid.uuid4().hex[:8]}."
        self.replicas = replicas
        self.log_dir = platform.work_dir / self.prefix.rstrip(".")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": platform.bootstrap,
            "SCHEMA_REGISTRY_URL": platform.registry_url,
            "IMPACT_TOPIC_PREFIX": self.prefix,
            "IMPACT_CHANGELOG_TOPIC": f"{self.prefix}orchestrator.changelog",
            "IMPACT_DATA_ROOT": str(ROOT),
            "IMPACT_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def __enter__(self) -> Services:
        try:
            for service, count in self.replicas.items():
                for index in range(count):
                    self._start(service, index)
            wait_until(self._all_assigned, ASSIGN_TIMEOUT_S, "replicas did not get partitions")
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _start(self, service: str, index: int) -> None:
        name = f"{service}-{index}"
        env = {**self.env, "IMPACT_GROUP_ID": f"{self.prefix}{service}"}
        with (self.log_dir / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"impact_{service}.service"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def _all_assigned(self) -> bool:
        dead = [name for name, proc in self.processes.items() if proc.poll() is not None]
        if dead:
            raise RuntimeError(f"service processes died: {dead}; logs in {self.log_dir}")
        return all(self._assigned(name) for name in self.processes)

    def _assigned(self, name: str) -> bool:
        """The replica's latest rebalance event gave it at least one partition."""
        latest: dict[str, Any] | None = None
        for line in self._log_lines(name):
            if line.get("event") in ("partitions_assigned", "partitions_revoked"):
                latest = line
        return (
            latest is not None
            and latest["event"] == "partitions_assigned"
            and bool(latest.get("partitions"))
        )

    def _log_lines(self, name: str) -> list[dict[str, Any]]:
        lines = []
        text = (self.log_dir / f"{name}.log").read_text(errors="replace")
        for raw in text.splitlines():
            if raw.startswith("{"):
                try:
                    lines.append(json.loads(raw))
                except json.JSONDecodeError:
                    continue
        return lines

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the replicas used so far (Linux ``/proc``)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for proc in self.processes.values():
            stat = Path(f"/proc/{proc.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / ticks

    def stop(self) -> None:
        """SIGTERM every replica, wait, kill what is still alive."""
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
