"""The compute floor of a run: its components' own CPU seconds divided by the cores.

A run cannot finish faster than ``cpu_s / cores`` with every core busy on component work
(measure, evaluate, allocate calls and the orchestrator's transitions, each timed by the
CPU clock of the thread or process that ran it: ``impact_orchestrator.EmbeddedStats``).
``wall / floor`` is how far a run is from it; the goal is <= 1.2.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def cores() -> int:
    """The cores this process may run on (the affinity mask, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def floor_row(wall_s: float, cpu_s: float, n_cores: int) -> dict[str, float]:
    """Wall seconds, compute CPU-s, floor s = CPU-s / cores, and wall / floor."""
    floor_s = cpu_s / n_cores
    return {
        "wall_s": round(wall_s, 3),
        "cpu_s": round(cpu_s, 3),
        "floor_s": round(floor_s, 3),
        "wall_over_floor": round(wall_s / floor_s, 2) if floor_s > 0 else float("inf"),
    }


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def broker_pids(work_dir: Path) -> list[int]:
    """The pids of every node of the benchmark's broker or cluster."""
    state = work_dir / "kafka.json"
    if not state.exists():
        return []
    recorded: Any = json.loads(state.read_text())
    nodes = recorded.get("nodes") or [recorded]
    return [int(node["pid"]) for node in nodes if node.get("pid") is not None]


def broker_pid(work_dir: Path) -> int | None:
    """The pid ``scripts/local_kafka.py`` recorded for the benchmark's (first) broker."""
    pids = broker_pids(work_dir)
    return pids[0] if pids else None
