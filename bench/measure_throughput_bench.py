"""Throughput of the measure stage with 1 and 2 replicas: the same pilot commands each time.

Run: ``uv run python -m bench.measure_throughput_bench [--commands 400]`` (starts its own
broker and registry). Each replica count gets a fresh topic prefix; all commands are
published at once, and the time runs until the last ``measure_completed`` is read.
Writes ``bench/results/measure_throughput.json``.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from impact_contracts import ManifestSubmitted
from impact_observe.bus import Bus
from impact_orchestrator.commands import measure_requested
from impact_schemas.catalog import topic_for
from impact_schemas.events import new_envelope

from bench.broker import Platform, platform_main
from bench.hops import stamp_ms
from bench.machine import machine
from bench.manifests import generate_manifest
from bench.results import markdown_table, write_result
from bench.services import Services

METHOD = (
    "N measure_requested commands (phase pilot, OLS experiment on 120 simulated products, "
    "keyed run_id:initiative_id over 6 partitions) published in one burst to a fresh topic "
    "prefix whose measure replicas (1 or 2 processes, exactly-once defaults) already own "
    "their partitions. commands/s = N / (wall time from the first send to reading the "
    "N-th measure_completed). A warm-up of 10 commands runs first on each stack. Replica "
    "CPU = user + system seconds of the replica processes during the batch (/proc)."
)
WARMUP_COMMANDS = 10


async def publish_commands(bus: Bus, run_id: str, count: int, workdir: Path) -> None:
    """Publish ``count`` pilot commands for ``run_id``, built as the orchestrator builds them."""
    manifest = ManifestSubmitted.model_validate(
        generate_manifest(count, workdir).to_event_payload()
    )
    topic = topic_for("measure_requested", bus.prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bus.bootstrap, linger_ms=5)
    await producer.start()
    try:
        sends = []
        for spec in manifest.initiatives:
            command = measure_requested(run_id, manifest, spec, "pilot")
            value = {**new_envelope(run_id), **command.payload}
            data = await bus.codec.encode("measure_requested", value, topic)
            sends.append(await producer.send(topic, data, key=command.key.encode()))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def measure_batch(bus: Bus, run_id: str, count: int, timeout_s: float) -> dict[str, Any]:
    """Publish ``count`` commands; wall seconds until all ``count`` results were read."""
    started = time.perf_counter()
    await publish_commands(bus, run_id, count, Path(tempfile.mkdtemp()))
    stamps: dict[str, float] = {}
    async for _, value in bus.follow(run_id, ["measure_completed"], timeout_s=timeout_s):
        stamps[value["initiative_id"]] = stamp_ms(value["produced_at"])
        if len(stamps) == count:
            break
    seconds = time.perf_counter() - started
    return {"commands": count, "completed": len(stamps), "seconds": round(seconds, 3)}


async def throughput(platform: Platform, replicas: int, count: int, timeout: float) -> Any:
    with Services(platform, {"measure": replicas}) as services:
        bus = Bus(platform.bootstrap, platform.registry_url, services.prefix)
        try:
            await measure_batch(bus, "warmup", WARMUP_COMMANDS, timeout)
            cpu_before = services.cpu_seconds()
            row = await measure_batch(bus, f"throughput-{replicas}", count, timeout)
            row["replica_cpu_s"] = round(services.cpu_seconds() - cpu_before, 2)
            row["cpu_ms_per_command"] = round(1000 * row["replica_cpu_s"] / count, 1)
            return row
        finally:
            await bus.close()


#: The command line: flag -> argparse keywords.
OPTIONS: dict[str, dict[str, Any]] = {
    "--commands": {"type": int, "default": 400},
    "--timeout": {"type": float, "default": 600.0},
}


def benchmark(platform: Platform, count: int, timeout_s: float) -> list[dict[str, Any]]:
    started = machine()
    rows = []
    for replicas in (1, 2):
        row = asyncio.run(throughput(platform, replicas, count, timeout_s))
        row["replicas"] = replicas
        row["commands_per_s"] = round(row["completed"] / row["seconds"], 1)
        rows.append(row)
        print(f"measure x{replicas}: {row['commands_per_s']} commands/s")
    base = rows[0]["commands_per_s"]
    for row in rows:
        row["speedup_vs_1"] = round(row["commands_per_s"] / base, 2)
    headers = ["replicas", "commands", "completed", "seconds", "commands/s", "speed-up"]
    headers += ["replica CPU s", "CPU ms/command"]
    keys = ["replicas", "commands", "completed", "seconds", "commands_per_s", "speedup_vs_1"]
    keys += ["replica_cpu_s", "cpu_ms_per_command"]
    print(markdown_table(headers, [[r[key] for key in keys] for r in rows]))
    path = write_result("measure_throughput", METHOD, rows, started)
    print(f"wrote {path}")
    return rows


def main() -> None:
    platform_main(__doc__, benchmark, OPTIONS)


if __name__ == "__main__":
    main()
