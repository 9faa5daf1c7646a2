"""The orchestrator service on a real broker: a restart mid-run rebuilds the run from the
compacted changelog, and the final report equals the embedded one."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from impact_orchestrator import run_embedded
from impact_orchestrator.commands import Command
from impact_orchestrator.executor import ComponentExecutor
from impact_orchestrator.manifest import Catalogs, Manifest, load_manifest
from impact_orchestrator.service import Orchestrator, build_service
from impact_runtime import JsonCodec

from runtime.tests.kafka_io import CommittedReader, as_json, produce
from runtime.tests.outages import Broker
from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.kafka_settings import settings_for
from services.orchestrator.tests.test_embedded_fakes import write_manifest
from services.orchestrator.tests.test_manifest_earlier import LIKE, REAL_EVALUATE
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration


def envelope(run_id: str, payload: dict[str, Any]) -> bytes:
    head = {"schema_version": "1.0", "run_id": run_id, "event_id": str(uuid.uuid4())}
    return as_json({**head, "causation_id": None, "produced_at": 0, **payload})


async def run_with_a_restart(
    kafka_bootstrap: str, manifest: Manifest, catalogs: Catalogs, run_id: str
) -> dict[str, Any]:
    """Submit ``manifest`` (5 initiatives, 3 selected) to one orchestrator replica, answer
    its commands from a second one that only the changelog told about the run; the
    ``run_completed`` report."""
    settings = settings_for(kafka_bootstrap)
    prefix = settings.topic_prefix
    execute = ComponentExecutor(catalogs)

    def topic(event: str) -> str:
        return f"{prefix}{event.replace('_', '.')}.v1"

    async def answer(records: list[Any]) -> None:
        """Run each requested command on a fake component and publish its result."""
        for record in records:
            value = json.loads(record.value)
            event = record.topic.removeprefix(prefix).removesuffix(".v1").replace(".", "_")
            name, result = execute(Command(event, record.key.decode(), value))
            await produce(kafka_bootstrap, topic(name), [(run_id, envelope(run_id, result))])

    first = build_service(settings)
    first.codec = JsonCodec()
    async with first:
        payload = manifest.to_event_payload()
        await produce(
            kafka_bootstrap, topic("manifest_submitted"), [(run_id, envelope(run_id, payload))]
        )
        async with CommittedReader(kafka_bootstrap, topic("measure_requested")) as reader:
            pilots = await reader.wait_count(5)
        async with CommittedReader(kafka_bootstrap, settings.changelog_topic) as changelog:
            await changelog.wait_count(1)

    second = build_service(settings)  # a fresh replica: only the changelog knows the run
    second.codec = JsonCodec()
    async with second:
        await answer(pilots)
        async with CommittedReader(kafka_bootstrap, topic("evaluate_requested")) as reader:
            await answer(await reader.wait_count(4))
        async with CommittedReader(kafka_bootstrap, topic("allocate_requested")) as reader:
            await answer(await reader.wait_count(1))
        async with CommittedReader(kafka_bootstrap, topic("measure_requested")) as reader:
            await answer((await reader.wait_count(8))[5:])
        async with CommittedReader(kafka_bootstrap, topic("run_completed")) as reader:
            [completed] = await reader.wait_count(1)
    value = json.loads(completed.value)
    return {k: value[k] for k in ("status", "reports", "pilots", "cached", "failures", "summary")}


async def test_restart_rebuilds_from_the_changelog(
    kafka_bootstrap: str, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    manifest = load_manifest(write_manifest(write_yaml), catalogs=catalogs)
    report = await run_with_a_restart(kafka_bootstrap, manifest, catalogs, "run-k")
    assert report == run_embedded(manifest, catalogs=catalogs, run_id="run-k")
    assert report["summary"]["n_selected"] == 3


async def test_earlier_pilots_reach_the_prior_as_in_embedded_mode(
    kafka_bootstrap: str, write_yaml: WriteYaml
) -> None:
    """The records embedded in ``manifest_submitted`` (and so in the changelog) feed the
    prior at the Kafka orchestrator's evaluate barrier as they do embedded."""
    content = yaml.safe_load(write_manifest(write_yaml).read_text(encoding="utf-8"))
    content["EVALUATE"] = {"earlier_pilots": LIKE}
    manifest = load_manifest(write_yaml("manifest.yaml", content), catalogs=REAL_EVALUATE)
    report = await run_with_a_restart(kafka_bootstrap, manifest, REAL_EVALUATE, "run-e")
    assert report == run_embedded(manifest, catalogs=REAL_EVALUATE, run_id="run-e")
    content["EVALUATE"] = {}
    alone = load_manifest(write_yaml("manifest.yaml", content), catalogs=REAL_EVALUATE)
    without = run_embedded(alone, catalogs=REAL_EVALUATE, run_id="run-e")
    assert report["reports"] != without["reports"]


class SlowRestore(Orchestrator):
    """Its changelog restore lasts longer than the session timeout (a large run)."""

    restores = 0

    async def _rebuild(self, partitions: set[int]) -> None:
        type(self).restores += 1
        await asyncio.sleep(SLOW_RESTORE_S)
        await super()._rebuild(partitions)


SESSION_TIMEOUT_MS = 6000  # the broker's group.min.session.timeout.ms
SLOW_RESTORE_S = 8.0


async def test_a_restore_longer_than_the_session_timeout_keeps_the_partitions(
    kafka_bootstrap: str,
) -> None:
    """aiokafka sends no heartbeat during a rebalance callback: a restore inside it got the
    replica expelled after every join, and it restored again, for ever."""
    settings = settings_for(kafka_bootstrap).model_copy(
        update={"session_timeout_ms": SESSION_TIMEOUT_MS}
    )
    orchestrator = SlowRestore(settings)
    service = build_service(settings, orchestrator)
    service.codec = JsonCodec()
    async with service:
        await asyncio.wait_for(orchestrator.restored.wait(), 60)
        assert service._kafka is not None
        generation = service._kafka.membership.generation
        await asyncio.sleep(2 * SESSION_TIMEOUT_MS / 1000)
        assert service._kafka.membership.generation == generation
    assert SlowRestore.restores == 1


async def test_an_orchestrator_started_while_the_broker_is_down_waits_for_it(
    tmp_path: Path, write_yaml: WriteYaml, catalogs: Catalogs
) -> None:
    """Its topic checks ran before the runtime's wait for the broker: it crashed on
    ``Unable to bootstrap`` where every other service waited."""
    broker = Broker(tmp_path)
    broker.start()
    try:
        settings = settings_for(broker.bootstrap).model_copy(update={"retry_backoff_max_s": 1.0})
        broker.kill()
        service = build_service(settings)
        service.codec = JsonCodec()
        starting = asyncio.create_task(service.start())

        def backoffs() -> bool:
            name, labels = "impact_dependency_backoff_total", {"dependency": "kafka"}
            return (service.metrics.registry.get_sample_value(name, labels) or 0) >= 2

        await wait_for(backoffs, timeout=60, message="no backoff while the broker is down")
        assert not starting.done(), starting
        broker.restart()
        await broker.wait_ready()
        await asyncio.wait_for(starting, timeout=120)
        try:
            await wait_for(service.is_ready, timeout=60, message="not ready after the broker")
            manifest = load_manifest(write_manifest(write_yaml), catalogs=catalogs)
            prefix, run_id = settings.topic_prefix, "run-late"
            payload = envelope(run_id, manifest.to_event_payload())
            await produce(broker.bootstrap, f"{prefix}manifest.submitted.v1", [(run_id, payload)])
            async with CommittedReader(broker.bootstrap, f"{prefix}measure.requested.v1") as reader:
                pilots = await reader.wait_count(5)
        finally:
            await service.stop()
    finally:
        broker.stop()
    assert sorted(json.loads(r.value)["initiative_id"] for r in pilots) == sorted(
        i.initiative_id for i in manifest.initiatives
    )
