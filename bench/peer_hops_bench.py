"""One hop's latency, this project against its peers, on one broker.

Run: ``uv run --group bench python -m bench.peer_hops_bench [--rounds 450]`` (starts its
own broker and registry). Each variant is an echo service in its own process (see
``bench.peer_apps`` and ``bench.peer_echo_service``) with a 1-partition input and output
topic. One client sends a ``measure_requested`` and waits until it reads the service's
output (read_committed); ``--rounds`` sequential round trips per variant, the variants
interleaved round-robin (the first one rotating each round) so that they share the same
load. ``--baseline DIR`` adds this project's three variants once more, running the
runtime and codec from ``DIR/runtime/src`` and ``DIR/schemas/src`` (e.g. ``git archive``
of the commit before a change), for a before/after in the same run. Writes
``bench/results/peer_hops.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from impact_kafka.topics import ensure_topics
from impact_runtime.settings import ServiceSettings
from impact_schemas.catalog import topic_for
from impact_schemas.codec import AvroCodec
from impact_schemas.examples import example
from impact_schemas.registry.client import RegistryClient

from bench.broker import Platform, running_platform
from bench.machine import ROOT, machine
from bench.results import markdown_table, percentile, write_result

BENCH = ROOT / "bench"
READY_TIMEOUT_S = 180.0
ROUND_TIMEOUT_S = 30.0
WARMUP_ROUNDS = 5
RAW_TXN = "raw aiokafka, transaction per batch"
FASTSTREAM = "FastStream 0.7.8"
AT_LEAST_ONCE = "impact at_least_once JSON"
PRODUCTION = "impact production (Avro + registry, exactly_once)"
METHOD = (
    "One broker (scripts/local_kafka.py) and our registry; every variant an echo service in "
    "its own process with a 1-partition input and output topic. One client process sends a "
    "measure_requested (key = round id; JSON, or Avro for the production variant, encoded "
    "before the clock starts) and waits for the matching output on a read_committed "
    "consumer; a round trip is perf_counter from producer.send to the output record. "
    "Variants interleaved round-robin (the first rotating each round), 5 warm-up rounds "
    "each not counted. Peers copy key and value; raw loops use read_committed, an idempotent "
    "acks=all producer and the runtime's default fetch wait, poll timeout and batch size; "
    "FastStream runs with its defaults. This project's variants are impact_runtime.Service "
    "with a synchronous echo handler (bench/peer_echo_service.py) run on the event loop "
    "(marked on_event_loop; the 'handler in a thread' rows: the worker-thread default), "
    "default settings but 1 partition. Baseline rows: the runtime of --baseline DIR."
)


@dataclass
class Variant:
    """One echo service and the client's view of it."""

    name: str
    command: list[str]
    avro: bool = False
    env: dict[str, str] = field(default_factory=dict)
    samples: list[float] = field(default_factory=list)

    def topics(self, slug: str) -> tuple[str, str]:
        prefix = f"hops-{slug}."
        return topic_for("measure_requested", prefix), topic_for("measure_completed", prefix)


def variants(platform: Platform, baseline: Path | None, profile: bool) -> list[Variant]:
    """The six variants (plus this project's three on the baseline runtime); ``profile``
    runs this project's under cProfile (``<work dir>/<variant>.prof``)."""
    peer = [sys.executable, "-m", "bench.peer_apps"]
    echo = [sys.executable, str(BENCH / "peer_echo_service.py")]
    if profile:
        echo[1:1] = ["-m", "cProfile", "-o", str(platform.work_dir / "{slug}.prof")]
    registry = {"IMPACT_SCHEMA_REGISTRY_URL": platform.registry_url}
    alo = {"IMPACT_PROCESSING_GUARANTEE": "at_least_once"}
    eos = {"IMPACT_PROCESSING_GUARANTEE": "exactly_once"}
    found = [
        Variant("raw aiokafka, at least once", [*peer, "raw"]),
        Variant(RAW_TXN, [*peer, "raw_txn"]),
        Variant(FASTSTREAM, [*peer, "faststream"]),
        Variant(AT_LEAST_ONCE, [*echo, "json"], env=alo),
        Variant("impact exactly_once JSON", [*echo, "json"], env=eos),
        Variant(PRODUCTION, [*echo, "avro"], avro=True, env={**eos, **registry}),
        Variant(f"{AT_LEAST_ONCE}, handler in a thread", [*echo, "json", "thread"], env=alo),
        Variant(
            f"{PRODUCTION}, handler in a thread",
            [*echo, "avro", "thread"],
            True,
            {**eos, **registry},
        ),
    ]
    if baseline is not None:
        sources = (baseline / "runtime" / "src", baseline / "schemas" / "src")
        base = {"PYTHONPATH": ":".join(map(str, sources))}
        found += [
            Variant(f"{v.name} (baseline)", v.command, v.avro, {**v.env, **base})
            for v in found[3:6]
        ]
    return found


class Hops:
    """The client: a producer plus one read_committed consumer per variant's output."""

    def __init__(self, platform: Platform, chosen: list[Variant]) -> None:
        self.platform = platform
        self.variants = chosen
        self.processes: list[subprocess.Popen[bytes]] = []
        self.consumers: dict[str, AIOKafkaConsumer] = {}
        self.producer = AIOKafkaProducer(
            bootstrap_servers=platform.bootstrap, acks="all", linger_ms=0
        )
        self.codec = AvroCodec(RegistryClient(platform.registry_url))
        self.request = example("measure_requested")

    def slug(self, variant: Variant) -> str:
        return str(self.variants.index(variant))

    async def start(self) -> None:
        await self._create_topics()
        await self.producer.start()
        for variant in self.variants:
            source, sink = variant.topics(self.slug(variant))
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.platform.bootstrap,
                isolation_level="read_committed",
                enable_auto_commit=False,
                fetch_max_wait_ms=500,
                auto_offset_reset="earliest",
            )
            await consumer.start()
            consumer.assign([TopicPartition(sink, 0)])
            self.consumers[variant.name] = consumer
            self.processes.append(self._spawn(variant, source, sink))
        for variant in self.variants:
            await self.round_trip(variant, "ready", READY_TIMEOUT_S)

    def _spawn(self, variant: Variant, source: str, sink: str) -> subprocess.Popen[bytes]:
        slug = self.slug(variant)
        env = {
            **os.environ,
            "IMPACT_SERVICE_NAME": f"hops-{slug}",
            "KAFKA_BOOTSTRAP_SERVERS": self.platform.bootstrap,
            "IMPACT_TOPIC_PREFIX": f"hops-{slug}.",
            "IMPACT_TOPIC_PARTITIONS": "1",
            "IMPACT_LOG_LEVEL": "INFO",
            **variant.env,
        }
        command = [*variant.command, self.platform.bootstrap, source, sink, f"hops-{slug}"]
        if "bench.peer_apps" not in variant.command:
            command = [part.format(slug=slug) for part in variant.command]
        log = (self.platform.work_dir / f"hops-{slug}.log").open("wb")
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)

    async def _create_topics(self) -> None:
        """Create every topic and wait for its leaders (a consumer assigned to a topic
        without one may wait for a metadata refresh, minutes)."""
        settings = ServiceSettings(
            service_name="hops-bench", bootstrap_servers=self.platform.bootstrap, topic_partitions=1
        )
        await ensure_topics(settings, {t for v in self.variants for t in v.topics(self.slug(v))})

    async def _payload(self, variant: Variant, key: str) -> bytes:
        value = {**self.request, "run_id": key}
        if variant.avro:
            source, _ = variant.topics(self.slug(variant))
            return await self.codec.encode("measure_requested", value, source)
        return json.dumps(value, default=str).encode()

    async def round_trip(self, variant: Variant, key: str, timeout_s: float) -> float:
        """Send one request to ``variant``; milliseconds until its output was read."""
        source, _ = variant.topics(self.slug(variant))
        payload = await self._payload(variant, key)
        consumer = self.consumers[variant.name]
        started = time.perf_counter()
        sent = await self.producer.send(source, payload, key=key.encode())
        async with asyncio.timeout(timeout_s):
            while (await consumer.getone()).key != key.encode():
                pass  # an output of an earlier, timed-out round
        elapsed = time.perf_counter() - started
        await sent
        return elapsed * 1000

    async def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for consumer in self.consumers.values():
            await consumer.stop()
        await self.producer.stop()
        await self.codec.registry.aclose()


async def measure(platform: Platform, chosen: list[Variant], rounds: int) -> None:
    hops = Hops(platform, chosen)
    try:
        await hops.start()
        for n in range(-WARMUP_ROUNDS, rounds):
            first = n % len(chosen)
            for variant in chosen[first:] + chosen[:first]:
                ms = await hops.round_trip(variant, f"round-{n}", ROUND_TIMEOUT_S)
                if n >= 0:
                    variant.samples.append(ms)
    finally:
        await hops.stop()


def summary(chosen: list[Variant]) -> dict[str, Any]:
    rows = [
        {
            "variant": v.name,
            "n": len(v.samples),
            **{f"p{q}_ms": round(percentile(v.samples, q), 2) for q in (50, 90, 99)},
            "max_ms": round(max(v.samples), 2),
        }
        for v in chosen
    ]
    p50 = {v.name: percentile(v.samples, 50) for v in chosen}
    ratios = {
        "production / raw transactional (goal <= 1.1)": (PRODUCTION, RAW_TXN),
        "at_least_once / FastStream (goal <= 1.0)": (AT_LEAST_ONCE, FASTSTREAM),
    }
    goals = {
        label: round(p50[ours] / p50[peer], 2)
        for label, (ours, peer) in ratios.items()
        if ours in p50 and peer in p50
    }
    return {"hops": rows, "p50_ratios": goals}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=450)
    parser.add_argument("--baseline", type=Path, help="a tree with the runtime to compare")
    parser.add_argument("--only", nargs="+", help="variant name prefixes to run")
    parser.add_argument("--name", default="peer_hops", help="bench/results/<name>.json")
    parser.add_argument("--profile", action="store_true", help="cProfile this project's")
    args = parser.parse_args()
    started = machine()
    with running_platform() as platform:
        chosen = variants(platform, args.baseline, args.profile)
        print("work dir:", platform.work_dir, flush=True)
        if args.only:
            chosen = [v for v in chosen if any(v.name.startswith(p) for p in args.only)]
        asyncio.run(measure(platform, chosen, args.rounds))
    results = {"rounds": args.rounds, "baseline": str(args.baseline or ""), **summary(chosen)}
    rows = results["hops"]
    print(markdown_table(list(rows[0]), [list(row.values()) for row in rows]))
    print(json.dumps(results["p50_ratios"], indent=2))
    print(write_result(args.name, METHOD, results, started))


if __name__ == "__main__":
    main()
