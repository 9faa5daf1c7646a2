"""One initiative end to end on Kafka, with a per-hop breakdown (target: ≤ 0.2 s idle).

Run: ``uv run python -m bench.one_run_bench [--runs 20] [--baseline DIR]`` (starts its own
broker and registry). One service stack (orchestrator, measure, evaluate, allocate, one
replica each, exactly-once defaults), one warm-up run, then ``--runs`` one-initiative
runs, each followed to ``run_completed`` before the next. ``--baseline DIR`` starts a
second stack whose runtime and services come from ``DIR`` (e.g. ``git archive`` of the
commit before a change) on its own topic prefix; the two stacks' runs alternate, so a
before/after shares the machine's load. Per stack: wall clock p50/min (publish → reading
``run_completed``), span p50 (``run_completed.produced_at - manifest.produced_at``) and
per hop the p50 of ``produced_at`` differences (``bench.hops``). Writes
``bench/results/one_run.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from impact_observe.bus import Bus

from bench.broker import running_platform
from bench.e2e_bench import PIPELINE_EVENTS, run_on_kafka, run_seconds
from bench.hops import Event, hop_summary, span_ms
from bench.machine import machine
from bench.manifests import generate_manifest
from bench.results import markdown_table, write_result
from bench.services import Services

REPLICAS = {"orchestrator": 1, "measure": 1, "evaluate": 1, "allocate": 1}
RUN_TIMEOUT_S = 120.0
#: Source folders a baseline tree supplies (PYTHONPATH, ahead of the installed packages).
BASELINE_SOURCES = (
    "runtime/src",
    "schemas/src",
    "services/orchestrator/src",
    "services/measure/src",
    "services/evaluate/src",
    "services/allocate/src",
)
METHOD = (
    "One KRaft broker and our registry; per stack orchestrator, measure, evaluate and "
    "allocate, one replica each, exactly-once defaults, as processes; one warm-up run per "
    "stack, then --runs one-initiative manifests (simulator, OLS experiment) per stack, the "
    "stacks alternating, each run followed to run_completed before the next. wall = client "
    "clock from publish to reading run_completed; span = run_completed.produced_at minus "
    "manifest_submitted.produced_at; hop = an event's produced_at minus its cause's."
)


async def runs_on(stacks: dict[str, Services], bootstrap: str, registry: str, runs: int) -> Any:
    buses = {name: Bus(bootstrap, registry, stack.prefix) for name, stack in stacks.items()}
    manifest = generate_manifest(1, Path(tempfile.mkdtemp()))
    found: dict[str, dict[str, Any]] = {
        name: {"walls": [], "spans": [], "events": []} for name in stacks
    }
    try:
        for name, bus in buses.items():
            await run_on_kafka(bus, manifest, f"one-warmup-{name}", RUN_TIMEOUT_S)
        for index in range(runs):
            for name, bus in buses.items():
                run_id = f"one-{name}-{index}"
                seconds = await run_seconds(bus, manifest, run_id, RUN_TIMEOUT_S)
                events: list[Event] = await bus.read_run(run_id, PIPELINE_EVENTS)
                found[name]["walls"].append(seconds)
                found[name]["spans"].append(span_ms(events))
                found[name]["events"] += events
    finally:
        for bus in buses.values():
            await bus.close()
    return {
        name: {
            "wall_p50_s": round(statistics.median(f["walls"]), 3),
            "wall_min_s": round(min(f["walls"]), 3),
            "span_p50_s": round(statistics.median(f["spans"]) / 1000, 3),
            "hops": hop_summary(f["events"]),
        }
        for name, f in found.items()
    }


def benchmark(runs: int, baseline: Path | None) -> dict[str, Any]:
    started = machine()
    with running_platform() as platform, ExitStack() as running:
        stacks = {"this tree": running.enter_context(Services(platform, REPLICAS))}
        if baseline is not None:
            stack = Services(platform, REPLICAS)
            stack.env["PYTHONPATH"] = ":".join(str(baseline / s) for s in BASELINE_SOURCES)
            stacks["baseline"] = running.enter_context(stack)
        results = asyncio.run(runs_on(stacks, platform.bootstrap, platform.registry_url, runs))
    out = {"runs": runs, "baseline": str(baseline or ""), "stacks": results}
    print_tables(out)
    print(f"wrote {write_result('one_run', METHOD, out, started)}")
    return out


def print_tables(results: dict[str, Any]) -> None:
    stacks = results["stacks"]
    names = list(stacks)
    rows = [
        [label, *(stacks[n][key] for n in names)]
        for label, key in (
            ("wall p50 s", "wall_p50_s"),
            ("wall min s", "wall_min_s"),
            ("span p50 s", "span_p50_s"),
        )
    ]
    hops = {n: {h["hop"]: h["p50_ms"] for h in stacks[n]["hops"]} for n in names}
    rows += [[f"{hop} p50 ms", *(hops[n].get(hop) for n in names)] for hop in hops[names[0]]]
    print(markdown_table(["", *names], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--baseline", type=Path, help="a tree with the code to compare")
    args = parser.parse_args()
    benchmark(args.runs, args.baseline)


if __name__ == "__main__":
    main()
