"""The CLI's Kafka side on the real broker and registry: a run is read to the end offsets
taken when the read starts, and large cohorts publish (or fail in one line)."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from impact_cli.main import app
from impact_kafka.config import KafkaClientSettings
from impact_observe.bus import Bus, EventTooLarge
from impact_schemas.catalog import topic_for
from impact_schemas.events import new_envelope
from impact_schemas.examples import example
from typer.testing import CliRunner

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RUN = "run-read-to-end"


def status(completed: int) -> dict[str, Any]:
    value = example("run_status")
    value.update(run_id=RUN, event_id=str(uuid.uuid4()), completed=completed, total=500)
    return value


async def produce_statuses(bus: Bus, values: list[dict[str, Any]], run_id: str = RUN) -> None:
    topic = topic_for("run_status", bus.prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bus.bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            data = await bus.codec.encode("run_status", {**value, "run_id": run_id}, topic)
            await producer.send(topic, data, key=run_id.encode())
        await producer.flush()
    finally:
        await producer.stop()


@pytest.fixture
async def bus(kafka_bootstrap: str, schema_registry_url: str) -> Any:
    client = Bus(kafka_bootstrap, schema_registry_url, f"cli{uuid.uuid4().hex[:8]}.")
    yield client
    await client.close()


def initiatives(n: int) -> list[dict[str, Any]]:
    """``n`` initiatives shaped like a generated cohort (seeded simulator experiments)."""
    return [
        {
            "initiative_id": f"initiative-{i:06d}",
            "cost_to_scale": 1_000.0 + i % 9_000,
            "measure_config": {
                "DATA": {
                    "SOURCE": {
                        "type": "simulator",
                        "CONFIG": {
                            "seed": 1_000 + i,
                            "n_products": 120,
                            "true_effect": float(1 + i % 9),
                            "design": "cross_section",
                        },
                    }
                },
                "MEASUREMENT": {
                    "MODEL": "experiment",
                    "PARAMS": {"outcome_column": "revenue", "treatment_column": "treated"},
                },
            },
        }
        for i in range(n)
    ]


def manifest_payload(n: int) -> dict[str, Any]:
    payload = example("manifest_submitted")
    for name in ("run_id", "event_id", "causation_id", "produced_at"):
        payload.pop(name)
    payload["initiatives"] = initiatives(n)
    return payload


async def test_read_run_is_complete_when_decoding_stalls(bus: Bus) -> None:
    """A reader that stops after a quiet spell would return a subset under load: a stalled
    decode must not end the read."""
    values = [status(i) for i in range(500)]
    await produce_statuses(bus, values)
    await produce_statuses(bus, [status(0)], run_id="another-run")
    decode = bus.codec.decode
    calls = 0

    async def stalls_once(data: bytes, topic: str) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 2:
            await asyncio.sleep(2.0)  # a busy machine: a quiet spell of 2 s
        return await decode(data, topic)

    bus.codec.decode = stalls_once  # type: ignore[method-assign]
    read = await bus.read_run(RUN, ["run_status"])
    assert [value["event_id"] for _, value in read] == [v["event_id"] for v in values]


async def test_read_run_stops_at_the_end_offsets_of_its_start(bus: Bus) -> None:
    first = [status(i) for i in range(50)]
    await produce_statuses(bus, first)
    before = await bus.read_run(RUN, ["run_status"])
    await produce_statuses(bus, [status(50)])
    after = await bus.read_run(RUN, ["run_status"])
    assert [v["event_id"] for _, v in before] == [v["event_id"] for v in first]
    assert len(after) == 51
    assert await bus.read_run("unknown-run", ["run_status", "stage_failed"]) == []


async def test_poison_keyed_by_the_run_is_skipped_by_every_reader(bus: Bus) -> None:
    """A record of the run that cannot be decoded (it is dead-lettered by the services)
    ended ``tail``, ``status`` and the dashboard's live page with a traceback."""
    good = [status(i) for i in range(3)]
    await produce_statuses(bus, good[:1])
    producer = AIOKafkaProducer(bootstrap_servers=bus.bootstrap, acks="all")
    await producer.start()
    try:
        topic = topic_for("run_status", bus.prefix)
        await producer.send_and_wait(topic, b"\x00\x7f\xff\xff\xf9junk", key=RUN.encode())
        await producer.send_and_wait(topic, b"not avro at all", key=RUN.encode())
    finally:
        await producer.stop()
    await produce_statuses(bus, good[1:])
    read = await bus.read_run(RUN, ["run_status"])
    assert [v["event_id"] for _, v in read] == [v["event_id"] for v in good]
    followed = []
    async with aclosing(bus.follow(RUN, ["run_status"], timeout_s=30)) as events:
        async for _, value in events:
            followed.append(value["event_id"])
            if len(followed) == len(good):
                break
    assert followed == [v["event_id"] for v in good]


async def test_a_5000_initiative_manifest_is_published_and_read_back(bus: Bus) -> None:
    """Above Kafka's 1 MB default, which made publish fail."""
    payload = manifest_payload(5_000)
    value = {**new_envelope("run-5000"), "schema_version": "1.0", **payload}
    size = len(await bus.codec.encode("manifest_submitted", value, "size.manifest.submitted.v1"))
    assert size > 1_200_000
    run_id = await bus.publish_manifest(payload, "run-5000")
    [(name, value)] = await bus.read_run(run_id, ["manifest_submitted"])
    assert name == "manifest_submitted"
    assert [i["initiative_id"] for i in value["initiatives"]] == [
        f"initiative-{i:06d}" for i in range(5_000)
    ]


@pytest.mark.slow
async def test_a_100000_initiative_manifest_is_published_and_read_back(bus: Bus) -> None:
    run_id = await bus.publish_manifest(manifest_payload(100_000), "run-100000")
    [(_, value)] = await bus.read_run(run_id, ["manifest_submitted"])
    assert len(value["initiatives"]) == 100_000
    assert value["initiatives"][-1]["initiative_id"] == "initiative-099999"


async def test_an_event_above_the_limit_is_one_error_and_nothing_is_sent(
    kafka_bootstrap: str, schema_registry_url: str, bus: Bus
) -> None:
    limit = 64 * 1024
    small = Bus(
        kafka_bootstrap,
        schema_registry_url,
        bus.prefix,
        kafka=KafkaClientSettings(bootstrap_servers=kafka_bootstrap, max_message_bytes=limit),
    )
    try:
        with pytest.raises(EventTooLarge) as raised:
            await small.publish_manifest(manifest_payload(1_000), "too-big")
    finally:
        await small.close()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("manifest_submitted is ")
    assert "above the 64.0 KiB limit" in message
    assert "IMPACT_MAX_MESSAGE_BYTES" in message
    assert await bus.read_run("too-big", ["manifest_submitted"]) == []


async def test_a_topic_with_a_lower_limit_is_one_error(
    bus: Bus, kafka_admin: AIOKafkaAdminClient
) -> None:
    topic = topic_for("manifest_submitted", bus.prefix)
    tight = NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "2048"})
    await kafka_admin.create_topics([tight])
    with pytest.raises(EventTooLarge) as raised:
        await bus.publish_manifest(manifest_payload(1_000), "refused")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("the broker refused manifest_submitted (")
    assert f"set max.message.bytes on topic {topic}" in message


def test_publish_above_the_limit_prints_one_line(
    kafka_bootstrap: str, schema_registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPACT_MAX_MESSAGE_BYTES", "2048")
    manifest = ROOT / "examples" / "manifest.yaml"
    prefix = f"cli{uuid.uuid4().hex[:8]}."
    args = ["publish", str(manifest), "--bootstrap", kafka_bootstrap]
    args += ["--registry", schema_registry_url, "--prefix", prefix]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"error {manifest}: manifest_submitted is ")
    assert "above the 2.0 KiB limit" in line
    assert "Traceback" not in result.output
