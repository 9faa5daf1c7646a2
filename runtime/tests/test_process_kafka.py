"""A service as a real process: SIGKILL mid-batch loses nothing, SIGTERM commits and exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from impact_runtime import JsonCodec, ServiceSettings

from runtime.tests.kafka_io import (
    CommittedReader,
    as_json,
    committed_offsets,
    isolated_settings,
    produce,
    request,
)
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

APP = Path(__file__).parent / "apps" / "echo_service.py"
REPO_ROOT = Path(__file__).resolve().parents[2]


def spawn(settings: ServiceSettings, tmp_path: Path, **extra: str) -> subprocess.Popen[bytes]:
    """Run the echo service in a child process configured through env vars."""
    env = {
        **os.environ,
        "IMPACT_SERVICE_NAME": settings.service_name,
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "IMPACT_TOPIC_PREFIX": settings.topic_prefix,
        "IMPACT_GROUP_ID": settings.consumer_group,
        "IMPACT_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "IMPACT_PROCESSING_GUARANTEE": settings.processing_guarantee,
        "IMPACT_MAX_POLL_RECORDS": str(settings.max_poll_records),
        "IMPACT_COMMIT_INTERVAL_S": str(settings.commit_interval_s),
        "IMPACT_LOG_LEVEL": "INFO",
        **extra,
    }
    log = (tmp_path / f"service-{uuid.uuid4().hex[:6]}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, str(APP)], env=env, cwd=REPO_ROOT, stdout=log, stderr=log
    )


async def doubled_values(records: list) -> list[int]:
    codec = JsonCodec()
    return sorted([(await codec.decode(r.value, ""))["doubled"] for r in records])


async def test_sigkill_between_consume_and_produce_processes_each_message_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = isolated_settings(kafka_bootstrap, topic_partitions=1, max_poll_records=1)
    source = f"{settings.topic_prefix}measure.requested.v1"
    sink = f"{settings.topic_prefix}measure.completed.v1"
    marker = tmp_path / "consumed-3"
    txn_id = f"echo-{uuid.uuid4().hex[:8]}-0"
    first = spawn(
        settings,
        tmp_path,
        ECHO_HANG_ON_X="3",
        ECHO_HANG_MARKER=str(marker),
        IMPACT_TRANSACTIONAL_ID=txn_id,
    )
    try:
        await produce(
            kafka_bootstrap, source, [("k", as_json(request("run-k", x))) for x in range(1, 6)]
        )
        await wait_for(marker.exists, timeout=60, message="service never consumed x=3")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    async with CommittedReader(kafka_bootstrap, sink) as reader:
        before = await reader.wait_count(2)
    assert await doubled_values(before) == [2, 4]

    second = spawn(settings, tmp_path, IMPACT_TRANSACTIONAL_ID=txn_id)
    try:
        async with CommittedReader(kafka_bootstrap, sink) as reader:
            await reader.wait_count(5, timeout=60)
            after = await reader.drain()
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert await doubled_values(after) == [2, 4, 6, 8, 10]
    assert await committed_offsets(kafka_bootstrap, settings.consumer_group, source, 1) == [5]


async def test_sigterm_stops_gracefully_and_commits_offsets(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = isolated_settings(
        kafka_bootstrap, processing_guarantee="at_least_once", commit_interval_s=3600.0
    )
    source = f"{settings.topic_prefix}measure.requested.v1"
    sink = f"{settings.topic_prefix}measure.completed.v1"
    service = spawn(settings, tmp_path)
    try:
        await produce(
            kafka_bootstrap, source, [("k", as_json(request("run-t", x))) for x in range(1, 5)]
        )
        async with CommittedReader(kafka_bootstrap, sink) as reader:
            records = await reader.wait_count(4, timeout=60)
        assert await doubled_values(records) == [2, 4, 6, 8]
        # commit_interval_s is an hour: only the graceful stop can have committed.
        assert await committed_offsets(kafka_bootstrap, settings.consumer_group, source, 2) == [
            -1,
            -1,
        ]
    finally:
        service.send_signal(signal.SIGTERM)
        returncode = service.wait(timeout=30)
    assert returncode == 0
    assert await committed_offsets(kafka_bootstrap, settings.consumer_group, source, 2) == [4, -1]
