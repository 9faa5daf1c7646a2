"""Service replicas as child processes, isolated from other runs by a topic prefix.

Used by the integration tests and the benchmarks: each replica is
``python -m impact_<service>.service`` with its own log file, all replicas of a service in
one consumer group, every topic and group name under a fresh prefix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from impact_cli import supervisor

SERVICES = ("orchestrator", "measure", "evaluate", "allocate")


class ServiceProcesses:
    """Start, watch and stop replicas; read their JSON logs."""

    def __init__(
        self,
        bootstrap: str,
        registry_url: str,
        log_dir: Path,
        replicas: dict[str, int],
        *,
        prefix_stem: str = "it",
        data_root: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.prefix = f"{prefix_stem}{uuid.uuid4().hex[:8]}."
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.replicas = {name: count for name, count in replicas.items() if count > 0}
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "SCHEMA_REGISTRY_URL": registry_url,
            "IMPACT_TOPIC_PREFIX": self.prefix,
            "IMPACT_CHANGELOG_TOPIC": f"{self.prefix}orchestrator.changelog",
            "PYTHONUNBUFFERED": "1",
            **({"IMPACT_DATA_ROOT": str(data_root)} if data_root else {}),
            **(env or {}),
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> ServiceProcesses:
        for service, count in self.replicas.items():
            for index in range(count):
                self.start_replica(service, index)
        return self

    def start_replica(self, service: str, index: int) -> None:
        name = f"{service}-{index}"
        env = {
            **self.env,
            "IMPACT_GROUP_ID": f"{self.prefix}{service}",
            # stable per replica: a restarted replica fences and aborts its predecessor's
            # open transaction instead of leaving it to time out
            "IMPACT_TRANSACTIONAL_ID": f"{self.prefix}{name}",
        }
        args = [sys.executable, "-m", f"impact_{service}.service"]
        self.processes[name] = supervisor.spawn(args, self.log_dir / f"{name}.log", env)

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM every replica, wait, kill what is still alive."""
        supervisor.stop(self.processes.values(), timeout_s)

    def dead(self) -> list[str]:
        return [name for name, proc in self.processes.items() if proc.poll() is not None]

    def death_report(self, dead: list[str], lines: int = 15) -> str:
        """Which replicas died and the last ``lines`` of each one's log (a CI run's
        temporary log directory is gone when the failure is read)."""
        report = [f"service processes died: {dead}; logs in {self.log_dir}"]
        for name in dead:
            path = self.log_dir / f"{name}.log"
            tail = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
            report += [f"--- last lines of {name}.log", *tail]
        return "\n".join(report)

    def log_lines(self, name: str) -> list[dict[str, Any]]:
        """The JSON log lines of one replica (other lines are skipped)."""
        path = self.log_dir / f"{name}.log"
        lines = []
        for raw in path.read_text(errors="replace").splitlines() if path.exists() else ():
            if raw.startswith("{"):
                try:
                    lines.append(json.loads(raw))
                except json.JSONDecodeError:
                    continue
        return lines

    def partitions(self, name: str) -> int:
        """Partitions the replica owns after its latest rebalance (0 while it has none)."""
        latest: dict[str, Any] | None = None
        for line in self.log_lines(name):
            if line.get("event") in ("partitions_assigned", "partitions_revoked"):
                latest = line
        if latest is None or latest["event"] != "partitions_assigned":
            return 0
        owned = latest.get("partitions")
        return len(owned) if isinstance(owned, list) else 0

    def all_assigned(self) -> bool:
        """Every replica owns partitions. Raises if a replica died."""
        if dead := self.dead():
            raise RuntimeError(self.death_report(dead))
        return all(self.partitions(name) > 0 for name in self.processes)

    def processed_by_replica(self, service: str, event: str) -> Counter[str]:
        """How many ``event`` messages each replica of ``service`` processed (DEBUG logs)."""
        topic = f"{self.prefix}{event.replace('_', '.')}.v1"
        counts: Counter[str] = Counter()
        for index in range(self.replicas.get(service, 0)):
            name = f"{service}-{index}"
            for line in self.log_lines(name):
                if line.get("event") == "processed" and line.get("topic") == topic:
                    counts[name] += 1
        return counts

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the live replicas used so far (Linux ``/proc``)."""
        return sum(self.cpu_seconds_by_replica().values())

    def cpu_seconds_by_replica(self) -> dict[str, float]:
        """Replica → its user + system CPU seconds so far (Linux ``/proc``)."""
        ticks = os.sysconf("SC_CLK_TCK")
        found = {}
        for name, proc in self.processes.items():
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[name] = (int(fields[11]) + int(fields[12])) / ticks
        return found
