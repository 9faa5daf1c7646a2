"""A run's whole fan-out on a real broker: one ``manifest_submitted`` of 20,000 initiatives
becomes exactly 20,000 committed ``measure_requested``, in one transaction with the
manifest's offset and the run's changelog records (decision 0045)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from impact_kafka.config import MIB
from impact_orchestrator.manifest import load_manifest
from impact_orchestrator.service import FAN_OUT_TRANSACTION_TIMEOUT_MS, build_service
from impact_runtime import JsonCodec

from bench.manifests import manifest_document
from runtime.tests.kafka_io import CommittedReader, committed_offsets, produce
from runtime.tests.test_fanout_kafka import count_replays
from services.orchestrator.tests.kafka_settings import settings_for
from services.orchestrator.tests.test_service_kafka import envelope

pytestmark = pytest.mark.integration

INITIATIVES = 20_000


async def test_a_large_fan_out_is_committed_exactly_once(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replays = count_replays(monkeypatch)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest_document(INITIATIVES)))
    payload = load_manifest(path).to_event_payload()
    settings = settings_for(kafka_bootstrap)
    assert settings.transaction_timeout_ms == FAN_OUT_TRANSACTION_TIMEOUT_MS
    prefix, run_id = settings.topic_prefix, "run-fan"
    source = f"{prefix}manifest.submitted.v1"
    service = build_service(settings)
    service.codec = JsonCodec()
    async with service:
        started = time.monotonic()
        manifest: list[tuple[str | None, bytes | None]] = [(run_id, envelope(run_id, payload))]
        await produce(kafka_bootstrap, source, manifest, max_request_size=64 * MIB)
        async with CommittedReader(kafka_bootstrap, f"{prefix}measure.requested.v1") as reader:
            await reader.wait_count(INITIATIVES, timeout=240)
            elapsed = time.monotonic() - started
            records = await reader.drain()
        assert service.running
    print(f"\n{INITIATIVES} measure_requested committed {elapsed:.1f} s after the manifest")
    ids = [json.loads(r.value)["initiative_id"] for r in records]
    assert len(ids) == INITIATIVES
    assert len(set(ids)) == INITIATIVES
    assert replays == []  # the transaction was never aborted and replayed
    assert await committed_offsets(kafka_bootstrap, settings.consumer_group, source, 1) == [1]
