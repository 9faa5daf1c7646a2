"""Throughput on 1 broker and on a 3-node cluster, with 1, 2 and 4 measure replicas.

Run: ``uv run python -m bench.cluster_bench [--initiatives 200]`` (starts its own broker,
then its own 3-node cluster, and a registry on each). Every row is one run of the same
generated manifest on a fresh service stack (orchestrator 1, evaluate 1, allocate 1,
measure 1/2/4; exactly-once defaults; topics RF 1 on the broker, RF 3 / min ISR 2 on the
cluster, decision 0061), after a warm-up run of 5 initiatives on that stack. Reports
initiatives per second (wall clock from publishing to ``run_completed``) and the CPU
seconds of the service processes and of the broker JVMs per initiative, so the scaling
beyond this machine's cores can be computed. Writes ``bench/results/cluster.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from impact_observe.bus import Bus

from bench.broker import Platform, running_platform
from bench.e2e_bench import run_on_kafka
from bench.floor import broker_pids, cores, process_cpu_s
from bench.machine import load_average, machine
from bench.manifests import generate_manifest
from bench.results import markdown_table, write_result
from bench.services import Services

MEASURE_REPLICAS = (1, 2, 4)
WARMUP = 5
METHOD = (
    "One generated manifest of N randomised experiments (simulator, 120 products pilot, 240 "
    "at scale, OLS; budget 30 % of total cost) per row, on a fresh stack: orchestrator 1, "
    "evaluate 1, allocate 1, measure 1/2/4 processes, exactly-once defaults, after a warm-up "
    "run of 5 initiatives. Brokers: one KRaft node (RF 1) or three combined KRaft nodes "
    "(RF 3, min ISR 2), from scripts/local_kafka.py. initiatives/s = N / wall seconds from "
    "publish to run_completed. CPU-s: user + system of the service processes and of the "
    "broker JVMs during the run (/proc)."
)


async def one_row(platform: Platform, measure: int, n: int, timeout_s: float) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="impact-cluster-bench-"))
    manifest, warmup = generate_manifest(n, workdir), generate_manifest(WARMUP, workdir)
    brokers = broker_pids(platform.work_dir)
    replicas = {"orchestrator": 1, "measure": measure, "evaluate": 1, "allocate": 1}
    with Services(platform, replicas) as services:
        bus = Bus(platform.bootstrap, platform.registry_url, services.prefix)
        try:
            await run_on_kafka(bus, warmup, f"warmup-{measure}", timeout_s)
            before = services.cpu_seconds(), sum(process_cpu_s(pid) for pid in brokers)
            load = load_average()[0]
            seconds, run = await run_on_kafka(bus, manifest, f"cluster-{measure}", timeout_s)
            services_cpu = services.cpu_seconds() - before[0]
            broker_cpu = sum(process_cpu_s(pid) for pid in brokers) - before[1]
        finally:
            await bus.close()
    if run is None or run["status"] != "completed":
        raise RuntimeError(f"run with {measure} measure replicas did not complete: {run}")
    return {
        "measure_replicas": measure,
        "initiatives": n,
        "seconds": round(seconds, 2),
        "initiatives_per_s": round(n / seconds, 1),
        "services_cpu_s": round(services_cpu, 2),
        "broker_cpu_s": round(broker_cpu, 2),
        "cpu_s_per_initiative": round((services_cpu + broker_cpu) / n, 4),
        "services_cpu_s_per_initiative": round(services_cpu / n, 4),
        "selected": run["summary"]["n_selected"],
        "load_1min": load,
    }


def benchmark(n: int, timeout_s: float) -> list[dict[str, Any]]:
    started = machine()
    rows: list[dict[str, Any]] = []
    for nodes in (1, 3):
        with running_platform(nodes=nodes) as platform:
            for measure in MEASURE_REPLICAS:
                row = {"brokers": nodes, **asyncio.run(one_row(platform, measure, n, timeout_s))}
                rows.append(row)
                print(
                    f"{nodes} broker(s), measure x{measure}: {row['initiatives_per_s']} "
                    f"initiatives/s, {row['cpu_s_per_initiative']} CPU-s per initiative",
                    flush=True,
                )
    selected = {row["selected"] for row in rows}
    if len(selected) != 1:
        raise RuntimeError(f"rows selected different portfolios: {selected}")
    headers = ["brokers", "measure replicas", "wall s", "initiatives/s", "services CPU-s"]
    headers += ["broker CPU-s", "CPU-s / initiative", "load"]
    keys = ["brokers", "measure_replicas", "seconds", "initiatives_per_s", "services_cpu_s"]
    keys += ["broker_cpu_s", "cpu_s_per_initiative", "load_1min"]
    print(f"{cores()} cores")
    print(markdown_table(headers, [[row[key] for key in keys] for row in rows]))
    print(f"wrote {write_result('cluster', METHOD, rows, started)}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--initiatives", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    if args.initiatives < 1:
        parser.error("--initiatives must be at least 1")
    benchmark(args.initiatives, args.timeout)


if __name__ == "__main__":
    main()
