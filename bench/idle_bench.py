"""Idle CPU of each service replica, and the hop latency with the same settings.

Run: ``uv run python -m bench.idle_bench [--idle-s 60] [--runs 20]`` (starts its own
broker and registry). Two stacks run side by side on one broker, each on its own topic
prefix: one with ``IMPACT_FETCH_MAX_WAIT_MS=5``, one with the default; next to them, bare
aiokafka consumers (``bench.idle_peer``) with the same two fetch waits, as the peer. Then:

1. wait until every replica and peer owns partitions, then one warm-up run per stack (so
   the lazily imported stage libraries are loaded);
2. CPU seconds of every process (``/proc/<pid>/stat``) over ``--idle-s`` seconds of no
   traffic, as % of one core;
3. ``--runs`` one-initiative runs per stack, the stacks interleaved, after one warm-up run
   each; per-hop p50 of ``produced_at`` differences (``bench.hops``) over all runs.

Writes ``bench/results/idle.json``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from impact_observe.bus import Bus
from impact_orchestrator.manifest import Manifest
from impact_runtime import ServiceSettings

from bench.broker import Platform, platform_main, stop_process
from bench.e2e_bench import PIPELINE_EVENTS, run_on_kafka, run_seconds
from bench.hops import Event, hop_summary
from bench.machine import machine
from bench.manifests import generate_manifest
from bench.results import markdown_table, write_result
from bench.services import Services

REPLICAS = {"orchestrator": 1, "measure": 1, "evaluate": 1, "allocate": 1}
OLD_FETCH_WAIT_MS = 5
RUN_TIMEOUT_S = 120.0
METHOD = (
    "One KRaft broker and our registry; two service stacks (orchestrator, measure, "
    "evaluate, allocate, one replica each, exactly-once defaults) on separate topic "
    "prefixes, one with IMPACT_FETCH_MAX_WAIT_MS=5 and one with the "
    "current default; bare aiokafka consumers (read_committed, getmany(timeout_ms=200) "
    "loop, own group on the measure input topic) with the same two fetch waits as the "
    "peer. Idle: user+system CPU seconds from /proc/<pid>/stat over --idle-s seconds with "
    "no traffic, after every replica owned partitions and one warm-up run per stack; "
    "% = CPU s / wall s * 100 (one core = 100 %). Hops: --runs one-initiative manifests "
    "per stack, the stacks alternating, each run followed to run_completed before the "
    "next; per hop, p50 over all runs of produced_at minus the causing event's produced_at."
)


#: The command line: flag -> argparse keywords.
OPTIONS: dict[str, dict[str, Any]] = {
    "--idle-s": {"type": float, "default": 60.0},
    "--runs": {"type": int, "default": 20},
}


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_peer(platform: Platform, topic: str, fetch_wait_ms: int) -> subprocess.Popen[str]:
    group = f"idle-peer-{fetch_wait_ms}-{os.getpid()}"
    command = [sys.executable, "-m", "bench.idle_peer", platform.bootstrap, topic, group]
    peer = subprocess.Popen([*command, str(fetch_wait_ms)], stdout=subprocess.PIPE, text=True)
    assert peer.stdout is not None
    if peer.stdout.readline().strip() != "assigned":
        peer.kill()
        raise RuntimeError(f"idle peer (fetch wait {fetch_wait_ms} ms) got no partitions")
    return peer


def idle_cpu(pids: dict[str, int], idle_s: float) -> dict[str, dict[str, float]]:
    """CPU seconds and % of a core of each process over ``idle_s`` seconds."""
    before = {name: cpu_s(pid) for name, pid in pids.items()}
    started = time.monotonic()
    time.sleep(idle_s)  # the measurement window itself, not a wait for a condition
    wall = time.monotonic() - started
    used = {name: cpu_s(pid) - before[name] for name, pid in pids.items()}
    return {
        name: {"cpu_s": round(s, 2), "pct_core": round(100 * s / wall, 2)}
        for name, s in used.items()
    }


async def hop_runs(
    stacks: dict[str, Services], platform: Platform, manifest: Manifest, runs: int
) -> dict[str, Any]:
    """``runs`` one-initiative runs per stack, alternating (``runs=0``: one warm-up run per
    stack); the hops and the wall clock per stack."""
    buses = {
        name: Bus(platform.bootstrap, platform.registry_url, stack.prefix)
        for name, stack in stacks.items()
    }
    events: dict[str, list[Event]] = {name: [] for name in stacks}
    walls: dict[str, list[float]] = {name: [] for name in stacks}
    try:
        if runs == 0:
            for name, bus in buses.items():
                await run_on_kafka(bus, manifest, f"idle-warmup-{name}", RUN_TIMEOUT_S)
            return {}
        for index in range(runs):
            for name, bus in buses.items():
                run_id = f"idle-{name}-{index}"
                seconds = await run_seconds(bus, manifest, run_id, RUN_TIMEOUT_S)
                walls[name].append(seconds)
                events[name] += await bus.read_run(run_id, PIPELINE_EVENTS)
    finally:
        for bus in buses.values():
            await bus.close()
    return {
        name: {
            "hops": hop_summary(events[name]),
            "run_wall_p50_s": round(statistics.median(walls[name]), 3),
        }
        for name in stacks
    }


def benchmark(platform: Platform, idle_s: float, runs: int) -> dict[str, Any]:
    started = machine()
    default_wait = ServiceSettings.model_fields["fetch_max_wait_ms"].default
    variants = {f"fetch wait {OLD_FETCH_WAIT_MS} ms": OLD_FETCH_WAIT_MS}
    variants[f"fetch wait {default_wait} ms (default)"] = default_wait
    stacks: dict[str, Services] = {}
    peers: dict[str, int] = {}
    with ExitStack() as running:
        for name, wait_ms in variants.items():
            stack = Services(platform, REPLICAS)
            stack.env["IMPACT_FETCH_MAX_WAIT_MS"] = str(wait_ms)
            stacks[name] = running.enter_context(stack)
        topic = f"{next(iter(stacks.values())).prefix}measure.requested.v1"
        for name, wait_ms in variants.items():
            peer = start_peer(platform, topic, wait_ms)
            running.callback(stop_process, peer, 20.0)
            peers[name] = peer.pid
        pids = {
            f"{variant} / {replica}": process.pid
            for variant, stack in stacks.items()
            for replica, process in stack.processes.items()
        }
        pids |= {f"{variant} / raw aiokafka": pid for variant, pid in peers.items()}
        manifest = generate_manifest(1, Path(tempfile.mkdtemp()))
        asyncio.run(hop_runs(stacks, platform, manifest, 0))  # every lazy import done
        idle = idle_cpu(pids, idle_s)
        hops = asyncio.run(hop_runs(stacks, platform, manifest, runs))
    results = {"idle_s": idle_s, "runs": runs, "variants": variants, "idle": idle, "hops": hops}
    print_tables(results)
    print(f"wrote {write_result('idle', METHOD, results, started)}")
    return results


def print_tables(results: dict[str, Any]) -> None:
    idle = results["idle"]
    processes = sorted({name.split(" / ")[1] for name in idle})
    headers = ["process", *results["variants"]]
    rows = [
        [p, *(f"{idle[f'{v} / {p}']['pct_core']:.2f} %" for v in results["variants"])]
        for p in processes
    ]
    print(f"Idle CPU over {results['idle_s']:.0f} s (% of one core)")
    print(markdown_table(headers, rows))
    hops = results["hops"]
    labels = [row["hop"] for row in next(iter(hops.values()))["hops"]]
    by_hop = {v: {row["hop"]: row for row in h["hops"]} for v, h in hops.items()}
    cells = [[label, *(by_hop[v][label]["p50_ms"] for v in hops)] for label in labels]
    cells.append(["run wall clock p50 (s)", *(h["run_wall_p50_s"] for h in hops.values())])
    print(f"\nHop p50 (ms) over {results['runs']} one-initiative runs per stack")
    print(markdown_table(["hop", *hops], cells))


def main() -> None:
    platform_main(__doc__.splitlines()[0], benchmark, OPTIONS)


if __name__ == "__main__":
    main()
