"""What the orchestrator's handler may return besides events, through the runtime's
pipeline: ``Forward`` the incoming record unchanged to another partition, or ``Reject`` it
to the DLQ while its other outputs still go out; raw ``Record``s may name their partition."""

from __future__ import annotations

import pytest
from impact_orchestrator.outputs import Forward, Record, Reject
from impact_runtime import (
    FakeBus,
    Incoming,
    JsonCodec,
    Outgoing,
    Service,
    ServiceSettings,
)
from impact_runtime.structs import RawMessage

VALUE = b'{"run_id": "run-1", "event_id": "e-1", "initiative_id": "a", "phase": "pilot"}'
TOPIC = "impact.measure.requested.v1"
HEADERS = (("run_id", b"run-1"),)


@pytest.fixture
def settings() -> ServiceSettings:
    return ServiceSettings(service_name="unit", bootstrap_servers="127.0.0.1:1")


def raw(partition: int = 2, offset: int = 41) -> RawMessage:
    return RawMessage(TOPIC, partition, offset, b"foreign-key", VALUE, HEADERS)


def bus_for(
    settings: ServiceSettings, outputs: list[Forward | Reject | Outgoing | Record]
) -> FakeBus:
    def handle(incoming: Incoming) -> list[Forward | Reject | Outgoing | Record]:
        return outputs

    return FakeBus(Service(settings, ["measure_requested"], handle, codec=JsonCodec()))


async def test_forward_reproduces_the_same_bytes_on_the_given_partition(
    settings: ServiceSettings,
) -> None:
    bus = bus_for(settings, [Forward(5)])
    [record] = await bus.pipeline.process(raw())
    assert (record.topic, record.partition, record.key, record.value) == (
        TOPIC,
        5,
        b"foreign-key",
        VALUE,
    )
    assert record.headers == (*HEADERS, ("forwarded_from", b"2:41"))
    assert record.managed


async def test_reject_dead_letters_the_record_and_keeps_the_other_outputs(
    settings: ServiceSettings,
) -> None:
    ended = Outgoing("run_status", "run-1", {"stage": "report", "state": "failed"})
    bus = bus_for(settings, [ended, Reject("invalid measure_requested: phase: must be pilot")])
    status, dead = await bus.pipeline.process(raw())
    assert status.topic == "impact.run.status.v1"
    assert dead.topic == f"{TOPIC}.dlq"
    assert (dead.key, dead.value) == (b"foreign-key", VALUE)
    headers = dict(dead.headers)
    assert (
        headers["dlq.reason"]
        == b"ContractViolation: invalid measure_requested: phase: must be pilot"
    )
    assert headers["dlq.error_type"] == b"ContractViolation"
    assert (headers["dlq.partition"], headers["dlq.offset"]) == (b"2", b"41")


async def test_a_record_keeps_its_explicit_partition(settings: ServiceSettings) -> None:
    bus = bus_for(settings, [Record("changelog", "run-1", b"state", partition=3)])
    [record] = await bus.pipeline.process(raw())
    assert (record.topic, record.key, record.value, record.partition) == (
        "changelog",
        b"run-1",
        b"state",
        3,
    )
    assert not record.managed
