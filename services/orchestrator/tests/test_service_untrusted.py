"""The orchestrator service trusts no producer (FakeBus, the runtime's real pipeline):
events on a partition that does not own their run are forwarded unchanged; events that break
their contract are dead-lettered and still end what they belong to."""

from __future__ import annotations

import itertools
import json
from typing import Any

from aiokafka import TopicPartition
from impact_orchestrator.changelog_restore import restore_runs
from impact_orchestrator.commands import Command
from impact_orchestrator.executor import ComponentExecutor
from impact_orchestrator.manifest import load_manifest
from impact_orchestrator.ownership import owner_partition
from impact_orchestrator.service import Orchestrator, Settings, build_service
from impact_runtime import FakeBus, JsonCodec
from impact_runtime.pipeline import MessagePipeline
from impact_runtime.structs import ProducerRecord, RawMessage, coalesce_raw
from impact_schemas.catalog import topic_for

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import FAKE_CATALOGS
from services.orchestrator.tests.test_embedded_fakes import write_manifest

CHANGELOG = "impact.orchestrator.changelog"
MANIFEST_TOPIC = topic_for("manifest_submitted", "impact.")


class Harness:
    """One orchestrator replica behind the runtime pipeline, fed raw records per partition:
    prepared (its start checks) and assigned every partition on a FakeBus with
    ``partitions`` per topic before the first record."""

    def __init__(self, partitions: int = 1) -> None:
        settings = Settings(bootstrap_servers="127.0.0.1:9", processing_guarantee="at_least_once")
        self.orchestrator = Orchestrator(settings, catalogs=FAKE_CATALOGS)
        service = build_service(settings, self.orchestrator)
        self.bus = FakeBus(service, JsonCodec(), partitions=partitions)
        self.pipeline: MessagePipeline = self.bus.pipeline
        self.assignment = {
            TopicPartition(t, p) for t in service.input_topics() for p in range(partitions)
        }
        self.offsets = itertools.count()

    async def feed(
        self,
        event: str,
        value: dict[str, Any],
        partition: int = 0,
        headers: tuple[tuple[str, bytes], ...] = (),
    ) -> list[ProducerRecord]:
        envelope = {"event_id": f"e{next(self.offsets)}", "causation_id": None}
        data = json.dumps({"schema_version": "1.0", **envelope, **value}).encode()
        return await self.feed_raw(topic_for(event, "impact."), data, partition, headers)

    async def feed_raw(
        self, topic: str, data: bytes, partition: int, headers: tuple[tuple[str, bytes], ...] = ()
    ) -> list[ProducerRecord]:
        if not self.bus.service.ready.is_set():
            await self.bus.service.prepare()
            await self.bus.assign(self.assignment)
            await self.orchestrator.restored.wait()
        message = RawMessage(topic, partition, next(self.offsets), b"any-key", data, headers)
        return coalesce_raw(await self.pipeline.process(message))


def events(records: list[ProducerRecord], event: str) -> list[dict[str, Any]]:
    topic = topic_for(event, "impact.")
    return [json.loads(r.value) for r in records if r.topic == topic and isinstance(r.value, bytes)]


def dead(records: list[ProducerRecord]) -> list[ProducerRecord]:
    return [r for r in records if r.topic.endswith(".dlq")]


def reason(record: ProducerRecord) -> str:
    return dict(record.headers)["dlq.reason"].decode()


async def test_an_invalid_manifest_is_dead_lettered_and_its_run_fails_at_once(
    write_yaml: WriteYaml,
) -> None:
    harness = Harness()
    payload = load_manifest(write_manifest(write_yaml), catalogs=FAKE_CATALOGS)
    value = payload.to_event_payload()
    value.update(budget=-5.0, initiatives=[value["initiatives"][0]] * 2)
    records = await harness.feed("manifest_submitted", {"run_id": "bad", **value})

    expected = (
        "invalid manifest_submitted: budget: must be > 0, got -5; "
        "initiatives: duplicate initiative ids 'a'"
    )
    assert [reason(r) for r in dead(records)] == [f"ContractViolation: {expected}"]
    assert dead(records)[0].topic == f"{MANIFEST_TOPIC}.dlq"
    assert events(records, "measure_requested") == []
    [completed] = events(records, "run_completed")
    assert (completed["run_id"], completed["status"]) == ("bad", "failed")
    assert completed["summary"]["reason"] == expected
    [status] = events(records, "run_status")
    assert (status["stage"], status["state"], status["message"]) == ("report", "failed", expected)
    changelog = [r.value for r in records if r.topic == CHANGELOG]
    [state] = restore_runs(v for v in changelog if isinstance(v, bytes)).states.values()
    assert (state.run_id, state.status) == ("bad", "failed")

    # the same run id again, now valid: the run already ended, so nothing starts
    again = await harness.feed(
        "manifest_submitted", {"run_id": "bad", **payload.to_event_payload()}
    )
    assert again == []


async def test_an_invalid_manifest_for_a_live_run_only_goes_to_the_dlq(
    write_yaml: WriteYaml,
) -> None:
    harness = Harness()
    value = load_manifest(write_manifest(write_yaml), catalogs=FAKE_CATALOGS).to_event_payload()
    started = await harness.feed("manifest_submitted", {"run_id": "r1", **value})
    assert len(events(started, "measure_requested")) == 5
    records = await harness.feed("manifest_submitted", {"run_id": "r1", **value, "budget": 0.0})
    assert [r.topic for r in records] == [f"{MANIFEST_TOPIC}.dlq"]
    assert harness.orchestrator.store.states["r1"].status == "running"


async def test_an_invalid_result_fails_its_initiative_and_the_run_completes(
    write_yaml: WriteYaml,
) -> None:
    """Drive a whole run; initiative ``a`` answers with an effect outside its own CI."""
    harness = Harness()
    manifest = load_manifest(write_manifest(write_yaml), catalogs=FAKE_CATALOGS)
    execute = ComponentExecutor(FAKE_CATALOGS)
    queue = await harness.feed(
        "manifest_submitted", {"run_id": "r2", **manifest.to_event_payload()}
    )
    produced: list[ProducerRecord] = list(queue)
    while queue:
        record, queue = queue[0], queue[1:]
        name = record.topic.removeprefix("impact.").removesuffix(".v1").replace(".", "_")
        if not name.endswith("_requested"):
            continue
        value = json.loads(record.value)  # type: ignore[arg-type]
        request = {k: v for k, v in value.items() if k not in ("run_id", "event_id")}
        event, result = execute(Command(name, record.key.decode(), request))  # type: ignore[union-attr]
        if event == "measure_completed" and result["initiative_id"] == "a":
            result["result"]["effect_estimate"] = 99.0
        new = await harness.feed(event, {"run_id": "r2", **result})
        queue += new
        produced += new

    [bad] = dead(produced)
    assert reason(bad) == (
        "ContractViolation: invalid measure_completed: result: effect_estimate: 99.0 must lie "
        "within [ci_lower=1.0, ci_upper=3.0]"
    )
    [completed] = events(produced, "run_completed")
    assert completed["status"] == "completed"
    failures = {f["initiative_id"]: f for f in completed["failures"]}
    assert sorted(failures) == ["a", "e"]  # e: its component fails (see write_manifest)
    assert failures["a"]["stage"] == "measure"
    assert failures["a"]["reason"] == reason(bad).removeprefix("ContractViolation: ")
    assert "a" not in {r["initiative_id"] for r in completed["reports"]}


async def test_an_allocation_naming_unknown_initiatives_fails_the_run(
    write_yaml: WriteYaml,
) -> None:
    harness = Harness()
    manifest = load_manifest(write_manifest(write_yaml), catalogs=FAKE_CATALOGS)
    run = harness.orchestrator.store
    await harness.feed("manifest_submitted", {"run_id": "r3", **manifest.to_event_payload()})
    run.states["r3"] = run.states["r3"].model_copy(update={"stage": "allocate"})
    allocation = {
        "selected_initiatives": ["zzz"],
        "budget_allocated": {"zzz": 1.0},
        "predicted_returns": {"zzz": 1.0},
        "budget": 40.0,
        "rule": "greedy",
        "solver_status": "Optimal",
        "objective": None,
        "mip_gap": 0.0,
        "reason": None,
    }
    records = await harness.feed("allocate_completed", {"run_id": "r3", "result": allocation})
    message = "allocate_completed: selected unknown initiatives ['zzz']"
    assert [reason(r) for r in dead(records)] == [f"ContractViolation: {message}"]
    [completed] = events(records, "run_completed")
    assert completed["status"] == "failed"
    assert completed["summary"]["reason"] == f"allocate failed: {message}"


async def test_a_record_without_run_id_is_dead_lettered() -> None:
    records = await Harness().feed("stage_failed", {"run_id": "", "stage": "measure"})
    assert [reason(r) for r in records] == [
        "ContractViolation: run_id: must be a non-empty string, got ''"
    ]


async def test_an_event_on_another_partition_is_forwarded_to_the_owner_unchanged(
    write_yaml: WriteYaml,
) -> None:
    harness = Harness(partitions=6)
    run_id = next(r for r in (f"run-{i}" for i in range(100)) if owner_partition(r, 6) != 2)
    owner = owner_partition(run_id, 6)
    value = load_manifest(write_manifest(write_yaml), catalogs=FAKE_CATALOGS).to_event_payload()
    data = json.dumps(
        {"schema_version": "1.0", "run_id": run_id, "event_id": "m", **value}
    ).encode()

    [forward] = await harness.feed_raw(MANIFEST_TOPIC, data, partition=2)
    assert (forward.topic, forward.partition, forward.key, forward.value) == (
        MANIFEST_TOPIC,
        owner,
        b"any-key",
        data,
    )
    assert run_id not in harness.orchestrator.store.states

    records = await harness.feed_raw(MANIFEST_TOPIC, data, owner, forward.headers)
    assert len(events(records, "measure_requested")) == 5
    changelog = [r for r in records if r.topic == CHANGELOG]
    assert [r.partition for r in changelog] == [owner, owner]  # the run's header, manifest
    assert harness.orchestrator.store.live.partitions[run_id] == owner

    # forwarded once already and still not on its owner: replicas disagree, so it stops here
    [stuck] = await harness.feed_raw(MANIFEST_TOPIC, data, (owner + 1) % 6, forward.headers)
    assert reason(stuck).startswith(f"ContractViolation: forwarded to partition {(owner + 1) % 6}")
