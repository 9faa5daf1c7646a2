"""End to end: N-initiative manifests on Kafka (services as processes) vs embedded mode.

Run: ``uv run python -m bench.e2e_bench [--sizes 1 100 1000]`` (starts its own broker and
registry). Kafka: orchestrator x1, measure x cores, evaluate x1, allocate x1; embedded:
``run_embedded(max_workers=cores)`` on threads (``executor="thread"``) and
with the default ``executor="auto"`` (worker processes for large runs). Every row reports
wall s, the components' own CPU-s, the floor = CPU-s / cores and wall / floor
(``bench/floor.py``); Kafka rows also the CPU-s of the service processes and of the
broker. Prints the per-hop latencies (p50/p99 of produced_at differences), writes
``bench/results/e2e.json``.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from impact_observe.bus import RUN_EVENTS, Bus
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.manifest import Manifest
from impact_orchestrator.workers import EmbeddedStats, ExecutorKind

from bench.broker import Platform, platform_main
from bench.floor import broker_pid, cores, floor_row, process_cpu_s
from bench.hops import Event, hop_summary, span_ms
from bench.machine import machine
from bench.manifests import generate_manifest
from bench.results import markdown_table, write_result
from bench.services import Services

CORES = cores()
REPLICAS = {"orchestrator": 1, "measure": CORES, "evaluate": 1, "allocate": 1}
EMBEDDED_WORKERS = CORES
#: initiatives of the warm-up run: enough for every measure replica to load its models
#: and the broker's JVM to compile its hot paths before a timed run
WARMUP_N = 40
EXECUTORS: tuple[ExecutorKind, ...] = ("thread", "auto")
PIPELINE_EVENTS = [e for e in RUN_EVENTS if e not in ("run_status", "run_command")]
METHOD = (
    "Generated manifests of N randomised experiments (simulator, 120 products pilot, 240 at "
    "scale, OLS), budget 30 % of total cost. Kafka: one KRaft broker, our registry, services "
    "as processes (orchestrator 1, measure = cores, evaluate 1, allocate 1), exactly-once "
    "defaults, one warm-up run of N=40 first (every replica and the broker warm); time = "
    "client wall clock from publish to receiving run_completed; "
    "span = run_completed.produced_at - manifest.produced_at. "
    "Embedded: run_embedded(max_workers=cores) in this process on the same manifest, wall "
    "clock, executor=thread and executor=auto. Compute CPU-s = the components' own CPU "
    "(each call's thread or worker-process CPU clock) + the orchestrator thread's CPU, "
    "from EmbeddedStats of the auto run (the same work on Kafka); floor = CPU-s / cores "
    "(affinity count); ratio = wall / floor. Kafka rows add the CPU-s of the service "
    "processes and of the broker JVM during the run (/proc). The 'kafka, in-run floor' row "
    "takes the compute CPU-s from the Kafka run itself: each service's "
    "impact_handler_cpu_seconds (the handler threads' CPU clocks) + the orchestrator's "
    "transitions from the embedded run; it also counts impact_batches_delivered (one "
    "transaction each). "
    "Hops: each event's produced_at minus its causation event's produced_at (ms stamps)."
)


#: The command line: flag -> argparse keywords.
OPTIONS: dict[str, dict[str, Any]] = {
    "--sizes": {"type": int, "nargs": "+", "default": [1, 100, 1000]},
    "--timeout": {"type": float, "default": 900.0, "help": "per Kafka run, seconds"},
}


def outcome(run: dict[str, Any]) -> dict[str, Any]:
    """What must match between Kafka and embedded mode (not ids or timestamps)."""
    return {key: run[key] for key in ("status", "reports", "failures", "summary")}


def run_embedded_timed(
    manifest: Manifest, run_id: str, executor: ExecutorKind
) -> tuple[float, dict[str, Any], EmbeddedStats]:
    stats = EmbeddedStats()
    started = time.perf_counter()
    result = run_embedded(
        manifest, max_workers=EMBEDDED_WORKERS, run_id=run_id, executor=executor, stats=stats
    )
    return time.perf_counter() - started, result, stats


async def run_on_kafka(
    bus: Bus, manifest: Manifest, run_id: str, timeout_s: float
) -> tuple[float, dict[str, Any] | None]:
    """Publish, follow to ``run_completed``; (seconds, run) or (seconds, None) on timeout."""
    started = time.perf_counter()
    await bus.publish_manifest(manifest.to_event_payload(), run_id)
    async for _, value in bus.follow(run_id, ["run_completed"], timeout_s=timeout_s):
        return time.perf_counter() - started, value
    return time.perf_counter() - started, None


async def run_seconds(bus: Bus, manifest: Manifest, run_id: str, timeout_s: float) -> float:
    """Seconds from publishing to ``run_completed``; ``TimeoutError`` if the run takes longer."""
    seconds, run = await run_on_kafka(bus, manifest, run_id, timeout_s)
    if run is None:
        raise TimeoutError(f"run {run_id} did not complete in {timeout_s} s")
    return seconds


async def kafka_runs(
    platform: Platform, manifests: dict[int, Manifest], timeout_s: float
) -> dict[int, dict[str, Any]]:
    """Every manifest on one service stack, after a warm-up run; times, outcome, events."""
    broker = broker_pid(platform.work_dir)
    with Services(platform, REPLICAS) as services:
        bus = Bus(platform.bootstrap, platform.registry_url, services.prefix)
        try:
            warmup = generate_manifest(WARMUP_N, Path(tempfile.mkdtemp()))
            await run_on_kafka(bus, warmup, "bench-warmup", timeout_s)
            runs = {}
            for n, manifest in manifests.items():
                run_id = f"bench-kafka-{n}"
                cpu = services.cpu_seconds(), process_cpu_s(broker) if broker else 0.0
                counted = services.counters()
                seconds, run = await run_on_kafka(bus, manifest, run_id, timeout_s)
                services_cpu_s = services.cpu_seconds() - cpu[0]
                broker_cpu_s = (process_cpu_s(broker) if broker else 0.0) - cpu[1]
                in_run = {
                    service: {k: round(v - counted[service][k], 3) for k, v in totals.items()}
                    for service, totals in services.counters().items()
                }
                events: list[Event] = await bus.read_run(run_id, PIPELINE_EVENTS)
                runs[n] = {
                    "seconds": seconds,
                    "run": run,
                    "events": events,
                    "services_cpu_s": round(services_cpu_s, 3),
                    "broker_cpu_s": round(broker_cpu_s, 3),
                    "by_service": in_run,
                }
                print(
                    f"kafka N={n}: {seconds:.2f} s ({'done' if run else 'TIMED OUT'}), "
                    f"services {services_cpu_s:.2f} CPU-s, broker {broker_cpu_s:.2f} CPU-s"
                )
        finally:
            await bus.close()
    return runs


def progress(events: list[Event]) -> dict[str, int]:
    """How many of each event a run produced, and for how many distinct initiatives."""
    counts: dict[str, int] = {}
    distinct: dict[str, set[str]] = {}
    for name, value in events:
        key = f"{name}[{value['phase']}]" if value.get("phase") else name
        counts[key] = counts.get(key, 0) + 1
        if value.get("initiative_id"):
            distinct.setdefault(f"{key} distinct", set()).add(value["initiative_id"])
    return counts | {key: len(ids) for key, ids in distinct.items()}


def benchmark(platform: Platform, sizes: list[int], timeout_s: float) -> dict[str, Any]:
    started = machine()
    manifests = {n: generate_manifest(n, Path(tempfile.mkdtemp())) for n in sizes}
    embedded: dict[tuple[int, str], tuple[float, dict[str, Any], EmbeddedStats]] = {}
    for n, manifest in manifests.items():
        for executor in EXECUTORS:
            embedded[n, executor] = run_embedded_timed(manifest, f"bench-kafka-{n}", executor)
            seconds, _, stats = embedded[n, executor]
            print(f"embedded {executor} N={n}: {seconds:.2f} s, {stats.cpu_s:.2f} CPU-s")
    kafka = asyncio.run(kafka_runs(platform, manifests, timeout_s))
    rows, hops = [], {}
    for n in sizes:
        embedded_s, embedded_run, stats = embedded[n, "auto"]
        on_kafka = kafka[n]
        run = on_kafka["run"]
        span = span_ms(on_kafka["events"])
        modes: dict[str, dict[str, Any]] = {
            executor: floor_row(embedded[n, executor][0], embedded[n, executor][2].cpu_s, CORES)
            | {"calls": embedded[n, executor][2].calls}
            for executor in EXECUTORS
        }
        modes["kafka"] = floor_row(on_kafka["seconds"], stats.cpu_s, CORES) | {
            "services_cpu_s": on_kafka["services_cpu_s"],
            "broker_cpu_s": on_kafka["broker_cpu_s"],
        }
        # the same floor from the handlers' CPU in the Kafka run itself (the orchestrator's
        # async handler is not counted: its transitions' CPU-s come from the embedded run)
        by_service = on_kafka["by_service"]
        in_run_cpu_s = stats.orchestrator_cpu_s + sum(
            totals["handler_cpu_s"] for totals in by_service.values()
        )
        modes["kafka, in-run floor"] = floor_row(on_kafka["seconds"], in_run_cpu_s, CORES) | {
            "batches": {service: int(totals["batches"]) for service, totals in by_service.items()},
            "handler_cpu_s": {
                service: totals["handler_cpu_s"] for service, totals in by_service.items()
            },
            "process_cpu_s": {service: totals["cpu_s"] for service, totals in by_service.items()},
        }
        rows.append(
            {
                "n": n,
                "kafka_s": round(on_kafka["seconds"], 3),
                "kafka_span_s": None if span is None else round(span / 1000, 3),
                "embedded_s": round(embedded_s, 3),
                "ratio_kafka_over_embedded": round(on_kafka["seconds"] / embedded_s, 2),
                "completed": run is not None,
                "same_report_as_embedded": run is not None
                and outcome(run) == outcome(embedded_run),
                "same_report_thread_vs_auto": outcome(embedded[n, "thread"][1])
                == outcome(embedded_run),
                "component_cpu_s": {k: round(v, 3) for k, v in stats.component_cpu_s.items()},
                "orchestrator_cpu_s": round(stats.orchestrator_cpu_s, 3),
                "modes": modes,
                "n_selected": embedded_run["summary"]["n_selected"],
                "events": len(on_kafka["events"]),
                "progress": progress(on_kafka["events"]),
            }
        )
        hops[n] = hop_summary(on_kafka["events"])
    results = {
        "runs": rows,
        "hops": hops,
        "replicas": REPLICAS,
        "cores": CORES,
        "timeout_s": timeout_s,
    }
    print_tables(results)
    path = write_result("e2e", METHOD, results, started)
    print(f"wrote {path}")
    return results


def print_tables(results: dict[str, Any]) -> None:
    headers = ["N", "Kafka s", "Kafka span s", "embedded s", "Kafka/embedded", "same report"]
    cells = [
        [
            r["n"],
            f"{r['kafka_s']:.2f}" + ("" if r["completed"] else " (timed out)"),
            "-" if r["kafka_span_s"] is None else f"{r['kafka_span_s']:.2f}",
            f"{r['embedded_s']:.2f}",
            ("" if r["completed"] else ">= ") + f"{r['ratio_kafka_over_embedded']:.2f}",
            r["same_report_as_embedded"],
        ]
        for r in results["runs"]
    ]
    print(markdown_table(headers, cells))
    print("\nAgainst the compute floor (CPU-s = components' own + orchestrator, /cores)")
    floor_headers = ["N", "mode", "wall s", "compute CPU-s", "floor s", "wall/floor"]
    floor_headers += ["services CPU-s", "broker CPU-s"]
    floor_cells = [
        [
            r["n"],
            mode,
            f"{m['wall_s']:.2f}",
            f"{m['cpu_s']:.2f}",
            f"{m['floor_s']:.2f}",
            f"{m['wall_over_floor']:.2f}",
            f"{m['services_cpu_s']:.2f}" if "services_cpu_s" in m else "-",
            f"{m['broker_cpu_s']:.2f}" if "broker_cpu_s" in m else "-",
        ]
        for r in results["runs"]
        for mode, m in r["modes"].items()
    ]
    print(markdown_table(floor_headers, floor_cells))
    print("\nKafka, by service: process and handler CPU-s, batches delivered (a transaction each)")
    service_cells = [
        [
            r["n"],
            service,
            in_run["process_cpu_s"][service],
            cpu_s,
            in_run["batches"][service],
        ]
        for r in results["runs"]
        for in_run in [r["modes"]["kafka, in-run floor"]]
        for service, cpu_s in in_run["handler_cpu_s"].items()
    ]
    headers = ["N", "service", "process CPU-s", "handler CPU-s", "batches"]
    print(markdown_table(headers, service_cells))
    for n, rows in results["hops"].items():
        print(f"\nPer-hop latency, N={n} (ms)")
        hop_cells = [[h["hop"], h["n"], h["p50_ms"], h["p99_ms"], h["max_ms"]] for h in rows]
        print(markdown_table(["hop", "n", "p50", "p99", "max"], hop_cells))


def main() -> None:
    platform_main(__doc__, benchmark, OPTIONS)


if __name__ == "__main__":
    main()
