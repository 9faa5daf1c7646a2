"""Fault suite (d): poison on every input topic (``manifest_submitted`` included), then a
valid run whose messages follow the poison on the same partitions.

Each poison must land in ``<topic>.dlq`` with its reason, no valid event may land in any
DLQ, the next valid message on each topic must be processed, and the run must end
exactly as in embedded mode. The oversized kind runs last: a service that cannot
dead-letter it crashes on it again after every restart.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from impact_observe.bus import Bus
from impact_schemas.catalog import topic_for
from impact_schemas.registry.client import RegistryClient

from tests.support.fault_manifests import cohort, embedded_outcome, outcome
from tests.support.fault_runs import RunEvents, dlq_records, wait_consumed
from tests.support.fault_stack import fault_stack
from tests.support.fault_watch import RunWatch
from tests.support.faults import SERVICE_INPUTS, FaultStack, fault_seed
from tests.support.poison import (
    KIND_HEADER,
    KINDS,
    REASON_MENTIONS,
    RUN_HEADER,
    PoisonMaker,
    alias_on_partition,
    max_message_bytes,
    partition_of,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]

RUN_TIMEOUT_S = 120.0
INPUT_EVENTS = [event for events in SERVICE_INPUTS.values() for event in events]
PER_INITIATIVE = ("measure_requested", "evaluate_requested")
PARTITIONS = 6
Sent = dict[tuple[str, str], tuple[int, int, bytes]]


stack = fault_stack("poison", {})


async def _send_poison(
    bootstrap: str, maker: PoisonMaker, prefix: str, kinds: tuple[str, ...], first_key: str
) -> Sent:
    """Every kind on every input topic, on the partition of the run's own (first) message
    there: the poison's run id shares the run's partition; commands go to the partition
    of the run's first command."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 << 20)
    await producer.start()
    sent: Sent = {}
    try:
        for event in INPUT_EVENTS:
            topic = topic_for(event, prefix)
            per_initiative = event in PER_INITIATIVE
            key = f"{maker.run_id}:{maker.initiative_id}" if per_initiative else maker.run_id
            partition = partition_of(first_key, PARTITIONS) if per_initiative else None
            limit = await max_message_bytes(bootstrap, topic)
            for kind in kinds:
                value = await maker.make(topic, kind, limit)
                headers = [(KIND_HEADER, kind.encode()), (RUN_HEADER, maker.run_id.encode())]
                meta = await producer.send_and_wait(
                    topic, value, key=key.encode(), partition=partition, headers=headers
                )
                sent[(topic, kind)] = (meta.partition, meta.offset, value)
    finally:
        await producer.stop()
    return sent


async def _poison_then_run(
    stack: FaultStack, bootstrap: str, registry_url: str, tmp: Path, kinds: tuple[str, ...]
) -> None:
    stack.heal()
    seed = fault_seed(f"poison {'+'.join(kinds)}")
    run_id = f"poison-{len(kinds)}-{kinds[0]}"
    manifest = cohort(
        tmp,
        6,
        measure={"component": "Measure"},
        allocate={"component": "MinimaxRegretAllocate"},
        broken=(5,),  # a valid stage_failed follows the poison on stage.failed
    )
    first = manifest.initiatives[0].initiative_id
    registry = RegistryClient(registry_url)
    maker = PoisonMaker(registry, alias_on_partition(run_id, PARTITIONS), first, seed)
    bus = Bus(bootstrap, registry_url, stack.prefix)
    problems: list[str] = []
    try:
        sent = await _send_poison(bootstrap, maker, stack.prefix, kinds, f"{run_id}:{first}")
        async with RunWatch(bootstrap, bus.codec, stack.prefix, run_id) as watch:
            await bus.publish_manifest(manifest.to_event_payload(), run_id)
            try:
                run = await watch.finished(RUN_TIMEOUT_S, alive=stack)
                if outcome(run) != await embedded_outcome(manifest, run_id):
                    problems.append(f"report differs from embedded mode: {outcome(run)}")
                await wait_consumed(bootstrap, stack.prefix, list(SERVICE_INPUTS))
            except (AssertionError, TimeoutError) as exc:
                problems.append(f"the run did not complete: {exc}")
        events = await RunEvents.read(bootstrap, bus.codec, stack.prefix, run_id)
    finally:
        await bus.close()
        await registry.aclose()

    # Every poison is in its DLQ with its reason; no valid event is in any DLQ.
    dead_letters = await dlq_records(bootstrap, stack.prefix)
    problems += [
        f"valid event in {r.topic}: {r.headers.get('dlq.reason', b'').decode()[:200]}"
        for r in dead_letters
        if KIND_HEADER not in r.headers
    ]
    found = {
        (r.topic.removesuffix(".dlq"), r.headers[KIND_HEADER].decode()): r
        for r in dead_letters
        if r.headers.get(RUN_HEADER) == maker.run_id.encode()
    }
    problems += [
        f"{kind} on {topic}: not in the DLQ" for topic, kind in sorted(set(sent) - set(found))
    ]
    for (topic, kind), record in sorted(found.items()):
        reason = record.headers.get("dlq.reason", b"").decode()
        if kind == "contract_violation":
            mention = maker.mentions.get(topic, "")
        else:
            mention = REASON_MENTIONS[kind] or ""
        if not reason or mention.lower() not in reason.lower():
            problems.append(f"{kind} on {topic}: DLQ reason {reason!r} does not name {mention!r}")
        if kind != "oversized" and record.value != sent[(topic, kind)][2]:
            problems.append(f"{kind} on {topic}: the DLQ copy is not the original bytes")

    # The first valid message after the poison, on the poison's partition, was processed:
    # an event of the run names it as its cause.
    causes = {value.get("causation_id") for _, value, _ in events.events}
    for event in INPUT_EVENTS:
        if event == "run_command":
            continue  # a straight-through run gets no command: wait_consumed saw it passed
        topic = topic_for(event, stack.prefix)
        partition = sent[(topic, kinds[0])][0]
        last_poison = max(sent[(topic, kind)][1] for kind in kinds)
        following = sorted(
            (record.offset, value["event_id"])
            for _, value, record in events.events
            if (record.topic, record.partition) == (topic, partition)
            and record.offset > last_poison
        )
        if not following:
            problems.append(f"no valid {event} after the poison on partition {partition}")
        elif following[0][1] not in causes:
            problems.append(f"the valid {event} after the poison was not processed")

    lost, duplicated = events.record(
        f"poison: {', '.join(kinds)}",
        f"{len(kinds)} kind(s) on each of the {len(INPUT_EVENTS)} input topics, then a run",
        len(sent),
        watch.longest_stall(),
        seed,
        problems=len(problems),
    )
    if (lost, duplicated) != (0, 0):
        problems.append(f"lost {lost}, duplicated {duplicated}")
    assert not problems, "\n".join(problems)


async def test_five_poison_kinds_on_every_input_topic(
    stack: FaultStack, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    small = tuple(kind for kind in KINDS if kind != "oversized")
    await _poison_then_run(stack, kafka_bootstrap, schema_registry_url, tmp_path, small)


async def test_oversized_poison_on_every_input_topic(
    stack: FaultStack, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    await _poison_then_run(stack, kafka_bootstrap, schema_registry_url, tmp_path, ("oversized",))
