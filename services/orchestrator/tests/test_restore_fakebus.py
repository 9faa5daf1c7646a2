"""The orchestrator's restore on FakeBus (the real path: ``on_assign`` reads the changelog
through the service's ``bus_topics``): a replica started on another one's changelog holds
the same runs and finishes them with the same report; a corrupt record quarantines its run."""

from __future__ import annotations

from impact_orchestrator import run_embedded
from impact_orchestrator.changelog import MANIFEST, record_key
from impact_orchestrator.commands import Command
from impact_orchestrator.executor import ComponentExecutor
from impact_orchestrator.manifest import Catalogs, load_manifest
from impact_runtime.structs import ProducerRecord

from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakebus_run import answer, orchestrator_bus
from services.orchestrator.tests.test_embedded_fakes import write_manifest

CHANGELOG = "impact.orchestrator.changelog"
REPORT = ("status", "reports", "pilots", "cached", "failures", "summary")


async def test_a_replica_on_the_same_changelog_restores_the_run_and_finishes_it(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    manifest = load_manifest(write_manifest(write_yaml), catalogs=catalogs)
    first, before = await orchestrator_bus()
    queue = await first.publish(
        "manifest_submitted", {"run_id": "r9", **manifest.to_event_payload()}
    )
    requested = [p for p in queue if p.event == "measure_requested"]
    await answer(first, requested[:2], catalogs, "r9")  # two pilots measured, three not

    assert first.topics.compacted == {CHANGELOG} and first.topics.counts[CHANGELOG] == 1
    second, after = await orchestrator_bus(topics=first.topics)
    assert after.store.states == before.store.states and list(after.store.states) == ["r9"]
    state = after.store.states["r9"]
    assert (state.status, state.stage) == ("running", "pilot")
    assert sorted(state.pilots) == sorted(r.key.split(":")[1] for r in requested[:2])  # type: ignore[union-attr]
    assert after.healthy and after.quarantined == {}

    await answer(second, requested[2:], catalogs, "r9")
    [completed] = second.events("run_completed")
    report = {k: completed[k] for k in REPORT}
    assert report == run_embedded(manifest, catalogs=catalogs, run_id="r9")


async def test_a_corrupt_changelog_record_quarantines_its_run(
    write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    payload = load_manifest(write_manifest(write_yaml), catalogs=catalogs).to_event_payload()
    first, before = await orchestrator_bus()
    requests = {}
    for run_id in ("good", "bad"):
        produced = await first.publish("manifest_submitted", {"run_id": run_id, **payload})
        requests[run_id] = [p for p in produced if p.event == "measure_requested"]
    key = record_key("bad", MANIFEST).encode()
    first.topics.append(ProducerRecord(CHANGELOG, key, b"\x00not json", managed=False, partition=0))

    second, after = await orchestrator_bus(topics=first.topics)
    assert list(after.store.states) == ["good"]
    assert after.store.states["good"] == before.store.states["good"]
    assert list(after.quarantined) == ["bad"]
    partition, reason = after.quarantined["bad"]
    assert partition == 0 and reason.startswith(f"corrupt changelog: undecodable record {key!r}")
    assert not after.healthy and after.corrupt_found == 1

    # a result of the quarantined run is dead-lettered, one of the other run is applied
    bad = requests["bad"][0]
    command = {k: v for k, v in bad.value.items() if k != "run_id"}
    event, result = ComponentExecutor(catalogs)(Command(bad.event or "", bad.key or "", command))
    [dead] = await second.publish(event, {"run_id": "bad", **result})
    assert dead.topic.endswith(".dlq")
    assert dead.headers["dlq.reason"] == f"ContractViolation: run bad not restored: {reason}"
    await answer(second, requests["good"][:1], catalogs, "good")
    assert len(after.store.states["good"].pilots) == 1
