"""The ``impact`` command against the real broker: bad manifests never reach Kafka, and the
README's main command brings up the stack, publishes the example and prints the report."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from impact_cli.main import app
from impact_schemas.catalog import topic_for
from typer.testing import CliRunner, Result

from tests.integration.stack import ROOT
from tests.support.kafka_clients import describe_topic

pytestmark = pytest.mark.integration

BAD_MANIFEST = """\
budget: -5
scale_sample_size: 1000
INITIATIVES:
  - initiative_id: a
    cost_to_scale: 10
    measure_config: configs/missing.yaml
"""


async def _message_count(bootstrap: str, topic: str) -> int:
    """Records in ``topic`` (0 when it does not exist)."""
    described = await describe_topic(bootstrap, topic)
    if described is None:
        return 0
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        consumer.assign(partitions)
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def _publish(
    manifest: Path, bootstrap: str, registry: str, prefix: str, *options: str
) -> Result:
    """``impact publish MANIFEST`` to this broker, registry and prefix, with ``options``."""
    connection = ["--bootstrap", bootstrap, "--registry", registry, "--prefix", prefix]
    command = ["publish", str(manifest), *connection, *options]
    return await asyncio.to_thread(CliRunner().invoke, app, command)


async def test_malformed_manifest_is_rejected_and_never_reaches_kafka(
    kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    prefix = f"cli{uuid.uuid4().hex[:8]}."
    topic = topic_for("manifest_submitted", prefix)
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(BAD_MANIFEST)
    before = await _message_count(kafka_bootstrap, topic)

    result = await _publish(manifest, kafka_bootstrap, schema_registry_url, prefix)

    assert result.exit_code == 2, result.output
    assert "manifest.yaml: budget:" in result.output
    assert "INITIATIVES[0].measure_config: file not found: configs/missing.yaml" in result.output
    assert await _message_count(kafka_bootstrap, topic) == before == 0


async def test_publish_prints_the_run_id_and_the_event_lands(
    kafka_bootstrap: str, schema_registry_url: str
) -> None:
    prefix = f"cli{uuid.uuid4().hex[:8]}."
    example = ROOT / "examples" / "manifest.yaml"
    result = await _publish(
        example, kafka_bootstrap, schema_registry_url, prefix, "--run-id", "cli-run-1"
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "cli-run-1"
    assert await _message_count(kafka_bootstrap, topic_for("manifest_submitted", prefix)) == 1


@pytest.mark.timeout(600)
def test_readme_main_command_prints_the_report(tmp_path: Path) -> None:
    """`make demo` runs `impact demo`: its own broker, registry and services, then down."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL")
    }
    env["IMPACT_STACK_DIR"] = str(tmp_path / "stack")
    impact = Path(sys.executable).parent / "impact"
    done = subprocess.run(
        [str(impact), "demo", "examples/manifest.yaml", "--timeout", "300"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "published run" in done.stdout
    assert "Outcome report" in done.stdout
    assert "(completed)" in done.stdout
    assert "stack down" in done.stdout
