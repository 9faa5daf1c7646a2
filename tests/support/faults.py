"""Fault-injection harness: the parts of a deployment as real processes, and the faults.

- the broker and the registry as restartable processes: ``tests.support.fault_processes``;
- ``FaultStack``: service replicas (``impact_cli.processes``) with the fault suite's
  test-only components loaded (``IMPACT_PLUGINS``); SIGKILL, restart, partition owners;
- ``fault_seed()``: the seed of every random schedule, printed; ``IMPACT_FAULT_SEED``
  replays one;
- ``record_fault()``: one row of docs/reliability.md's table (``IMPACT_FAULT_REPORT``).
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from impact_cli import supervisor
from impact_cli.processes import SERVICES, ServiceProcesses
from impact_orchestrator.service import INPUTS as ORCHESTRATOR_INPUTS
from impact_schemas.catalog import topic_for

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = "tests.support.fault_components"
#: Each service imports only its own stage's test components (imports cost CPU at every
#: restart); the orchestrator checks manifests against every catalog.
SERVICE_PLUGINS = {
    "orchestrator": PLUGINS,
    "measure": "tests.support.fault_measure",
    "allocate": "tests.support.fault_allocate",
    "evaluate": "",
}
SEED_ENV = "IMPACT_FAULT_SEED"
REPORT_ENV = "IMPACT_FAULT_REPORT"
SERVICE_INPUTS = {
    "orchestrator": ORCHESTRATOR_INPUTS,
    "measure": ["measure_requested"],
    "evaluate": ["evaluate_requested"],
    "allocate": ["allocate_requested"],
}
_TOPIC_PARTITION = re.compile(r"topic='([^']+)', partition=(\d+)")


def fault_seed(name: str) -> int:
    """The seed of ``name``'s random schedule: ``IMPACT_FAULT_SEED`` or a fresh one, printed
    (pytest shows it with the output of a failing test)."""
    seed = int(os.environ.get(SEED_ENV) or random.SystemRandom().randrange(2**32))
    print(f"{name}: fault seed {seed} (replay: {SEED_ENV}={seed})", flush=True)
    return seed


@dataclass
class FaultRow:
    """One fault of the suite, as docs/reliability.md shows it."""

    fault: str
    what: str
    times: int
    lost: int
    duplicated: int
    longest_stall_s: float | None
    seed: int | None = None
    test: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def record_fault(row: FaultRow) -> None:
    """Append ``row`` (JSON line) to ``$IMPACT_FAULT_REPORT`` when it is set, and print it.
    ``row.test`` defaults to the running test's node id."""
    row.test = row.test or os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    line = json.dumps(asdict(row), sort_keys=True)
    print(f"fault row: {line}", flush=True)
    if target := os.environ.get(REPORT_ENV):
        with Path(target).open("a") as out:
            out.write(line + "\n")


class FaultStack(ServiceProcesses):
    """Service replicas with the fault suite's components; kill, restart, find owners."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kills: list[tuple[float, str]] = []
        #: JSON log lines each replica's log held before its current process started
        self._lines_before: dict[str, int] = {}

    def names(self, service: str | None = None) -> list[str]:
        """Replica names (``measure-0``, ...), of one service or all."""
        return sorted(
            n for n in self.processes if service is None or n.rsplit("-", 1)[0] == service
        )

    def kill(self, name: str) -> None:
        """SIGKILL one replica and reap it."""
        supervisor.kill(self.processes[name])
        self.kills.append((time.monotonic(), name))

    def start_replica(self, service: str, index: int) -> None:
        name = f"{service}-{index}"
        self._lines_before[name] = len(self.log_lines(name))
        base = self.env
        self.env = {**base, "IMPACT_PLUGINS": SERVICE_PLUGINS[service]}
        try:
            super().start_replica(service, index)
        finally:
            self.env = base

    def restart(self, name: str) -> None:
        service, index = name.rsplit("-", 1)
        self.start_replica(service, int(index))

    def heal(self) -> list[str]:
        """Restart every replica that is not running; return their names."""
        dead = self.dead()
        for name in dead:
            self.restart(name)
        return dead

    def owned(self, name: str) -> set[tuple[str, int]]:
        """(topic, partition) the replica's current process owns after its latest rebalance."""
        owned: set[tuple[str, int]] = set()
        for line in self.current_lines(name):
            event = line.get("event")
            if event == "service_started":
                owned = set()
            elif event in ("partitions_assigned", "partitions_revoked"):
                parts = line.get("partitions") or []
                found = {(t, int(p)) for t, p in _TOPIC_PARTITION.findall(" ".join(parts))}
                owned = found if event == "partitions_assigned" else set()
        return owned if self.processes[name].poll() is None else set()

    def current_lines(self, name: str) -> list[dict[str, Any]]:
        """The JSON log lines of the replica's current process: a restarted replica appends
        to its log, and until its new process logs, the old one's lines (its partitions,
        its HTTP port) are not its."""
        return self.log_lines(name)[self._lines_before.get(name, 0) :]

    def owner(self, service: str, topic: str, partition: int) -> str | None:
        """The live replica of ``service`` that owns ``topic[partition]`` (None: unknown)."""
        for name in self.names(service):
            if (topic, partition) in self.owned(name):
                return name
        return None

    def inputs(self, service: str) -> list[str]:
        """The input topics of ``service`` under this stack's prefix."""
        return [topic_for(event, self.prefix) for event in SERVICE_INPUTS[service]]

    def settled(self, partitions: int) -> bool:
        """Every replica is alive and owns partitions; every partition of each service's
        inputs has exactly one owner. Raises if a replica died."""
        if dead := self.dead():
            raise RuntimeError(self.death_report(dead))
        for service in self.replicas:
            names = self.inputs(service)
            owned = [self.owned(n) for n in self.names(service)]
            if not all(owned):
                return False
            claimed = [tp for tps in owned for tp in tps]
            wanted = {(t, p) for t in names for p in range(partitions)}
            if len(claimed) != len(set(claimed)) or not wanted <= set(claimed):
                return False
        return True

    def stop(self, timeout_s: float = 10.0) -> None:
        super().stop(timeout_s)


def wait_until(condition: Any, timeout: float, message: str, interval: float = 0.2) -> Any:
    """Poll a synchronous ``condition`` until truthy (returned) or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        if result := condition():
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(message)
        time.sleep(interval)


def start_stack(
    bootstrap: str,
    registry_url: str,
    log_dir: Path,
    replicas: dict[str, int],
    *,
    env: dict[str, str] | None = None,
    partitions: int = 6,
    timeout: float = 240.0,
) -> FaultStack:
    """Start the replicas and wait until every input partition has one live owner."""
    stack = FaultStack(
        bootstrap,
        registry_url,
        log_dir,
        {name: replicas.get(name, 1) for name in SERVICES},
        prefix_stem="flt",
        data_root=ROOT,
        env={
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "IMPACT_TICK_INTERVAL_S": "0.2",
            "OPENBLAS_NUM_THREADS": "1",
            "IMPACT_TOPIC_PARTITIONS": str(partitions),
            **(env or {}),
        },
    )
    stack.start()
    try:
        wait_until(
            lambda: stack.settled(partitions),
            timeout,
            f"replicas did not get their partitions in {timeout:.0f} s; logs in {log_dir}",
        )
    except BaseException:
        stack.stop()
        raise
    return stack
