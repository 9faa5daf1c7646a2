"""Fault suite (a): a seeded SIGKILL schedule over every kind of replica during one run.

Two replicas of every stage and two orchestrators; a replica is SIGKILLed every few
seconds and restarted at once (>= 20 kills, every kind), plus two aimed kills: the
orchestrator that owns the run while the evaluate barrier is half full, and the allocate
replica while it solves. The report must equal embedded mode's, with nothing lost or
duplicated and exactly one ``run_completed``. ``IMPACT_FAULT_SEED`` replays a schedule.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka.partitioner import murmur2
from impact_observe.bus import Bus
from impact_schemas.catalog import topic_for

from tests.support.fault_components import ALLOCATE_DELAY_ENV, MEASURE_DELAY_ENV, SOLVING
from tests.support.fault_manifests import cohort, embedded_outcome, outcome
from tests.support.fault_runs import RunEvents
from tests.support.fault_stack import fault_stack
from tests.support.fault_watch import RunWatch
from tests.support.faults import FaultStack, fault_seed

pytestmark = [pytest.mark.integration, pytest.mark.faults]

N = 50
PERIODIC_KILLS = 20
GAP_S = (1.5, 3.0)
RUN_TIMEOUT_S = 420.0
KINDS = ("orchestrator", "measure", "evaluate", "allocate")
PACING = {
    MEASURE_DELAY_ENV: "0.5",  # 50 + K measures over 2 replicas: the run outlasts the schedule
    ALLOCATE_DELAY_ENV: "4",  # a window to kill allocate mid-solve
    "IMPACT_MAX_POLL_RECORDS": "1",  # a kill aborts one command's transaction, not 50
}


@dataclass(frozen=True)
class Kill:
    at: float
    victim: str
    why: str


stack = fault_stack("kills", dict.fromkeys(KINDS, 2), env=PACING)


def _plan(rng: random.Random, stack: FaultStack) -> list[tuple[float, str]]:
    """(gap before the kill, victim): every kind early, then any replica."""
    first = [rng.choice(stack.names(kind)) for kind in rng.sample(KINDS, len(KINDS))]
    rest = [rng.choice(stack.names()) for _ in range(PERIODIC_KILLS - len(first))]
    return [(round(rng.uniform(*GAP_S), 2), victim) for victim in first + rest]


async def test_sigkill_schedule_loses_and_duplicates_nothing(
    stack: FaultStack, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    seed = fault_seed("sigkill schedule")
    rng = random.Random(seed)
    manifest = cohort(tmp_path, N)
    run_id = f"kills-{seed}"
    expected = await embedded_outcome(manifest, run_id)
    total_units = 2 * N + 1 + expected["summary"]["n_selected"]
    partition = (murmur2(run_id.encode()) & 0x7FFFFFFF) % 6  # the run's partition
    kills: list[Kill] = []
    observed: dict[str, object] = {}

    one_at_a_time = asyncio.Lock()  # two kills of one replica must not start it twice

    async def kill(victim: str, why: str) -> None:
        async with one_at_a_time:
            kills.append(Kill(time.monotonic(), victim, why))
            await asyncio.to_thread(stack.kill, victim)
            stack.restart(victim)

    def owner(service: str, event: str) -> str:
        found = stack.owner(service, topic_for(event, stack.prefix), partition)
        return found or rng.choice(stack.names(service))

    async def periodic(watch: RunWatch) -> None:
        for index, (gap, victim) in enumerate(_plan(rng, stack)):
            # behind schedule (the run moves faster than the kills): tighten the gap
            ahead = watch.units() / total_units > 0.8 * index / PERIODIC_KILLS
            await asyncio.sleep(1.0 if ahead else gap)  # the schedule's own spacing
            if watch.completed:
                return
            await kill(victim, "schedule")

    async def at_half_barrier(watch: RunWatch) -> None:
        await watch.until(lambda w: w.progress.get("evaluate", 0) >= N // 2, RUN_TIMEOUT_S, "N/2")
        observed["evaluated at kill"] = watch.progress.get("evaluate", 0)
        await kill(owner("orchestrator", "manifest_submitted"), "barrier half full")

    def solving() -> tuple[str, float] | None:
        """The allocate replica that started solving, and when (its component logs it)."""
        for name in stack.names("allocate"):
            for line in stack.log_lines(name):
                if line.get("event") == SOLVING:
                    return name, float(line["at"])
        return None

    async def mid_solve(watch: RunWatch) -> None:
        await watch.until(lambda w: solving() is not None, RUN_TIMEOUT_S, "allocate solving")
        await asyncio.sleep(rng.uniform(0.5, 1.5))  # into the 4 s solve
        victim, started = solving() or ("", 0.0)
        observed["into the solve (s)"] = round(time.time() - started, 1)
        await kill(victim, "mid-solve")

    bus = Bus(kafka_bootstrap, schema_registry_url, stack.prefix)
    try:
        async with RunWatch(kafka_bootstrap, bus.codec, stack.prefix, run_id) as watch:
            await bus.publish_manifest(manifest.to_event_payload(), run_id)
            faults = [asyncio.create_task(f(watch)) for f in (periodic, at_half_barrier, mid_solve)]
            try:
                run = await watch.finished(RUN_TIMEOUT_S)
                await asyncio.gather(*faults)
            finally:
                for task in faults:
                    task.cancel()
        stack.heal()
        events = await RunEvents.settled(kafka_bootstrap, bus.codec, stack.prefix, run_id)
    finally:
        await bus.close()

    lost, duplicated = events.delivery()
    ends = [k.at for k in kills[1:]] + [watch.points[-1]]
    for kind in KINDS:
        mine = [(k, end) for k, end in zip(kills, ends, strict=True) if k.victim.startswith(kind)]
        events.record(
            f"SIGKILL {kind}",
            f"{kind} replica SIGKILLed and restarted during a {N}-initiative run"
            + ("; once while the barrier was half full" if kind == "orchestrator" else "")
            + ("; once mid-solve" if kind == "allocate" else ""),
            len(mine),
            max((watch.longest_stall(k.at, end) for k, end in mine), default=0.0),
            seed,
            kills=len(kills),
            **observed,
        )
    print(
        f"kills (seed {seed}): {[(round(k.at - watch.started, 1), k.victim, k.why) for k in kills]}"
    )
    assert len(kills) >= 20, f"the run ended after {len(kills)} kills"
    assert {k.victim.rsplit("-", 1)[0] for k in kills} == set(KINDS)
    assert [k.why for k in kills].count("barrier half full") == 1
    assert N // 2 <= int(str(observed["evaluated at kill"])) < N
    assert float(str(observed["into the solve (s)"])) < float(PACING[ALLOCATE_DELAY_ENV])
    assert outcome(run) == expected
    assert (lost, duplicated) == (0, 0)
    assert len(events.named("run_completed")) == 1
