"""A handler may return ``Directive``s besides events: outputs that make their own records
(here raw records and tombstones, produced as they are)."""

from __future__ import annotations

from dataclasses import dataclass

from impact_runtime import (
    FakeBus,
    Incoming,
    Output,
    ProducerRecord,
    Service,
    ServiceSettings,
    Source,
)

REQUEST = {"run_id": "run-1", "initiative_id": "init-7", "phase": "pilot", "x": 3}


def make_bus(settings: ServiceSettings, handle) -> FakeBus:
    return FakeBus(Service(settings, ["measure_requested"], handle))


@dataclass(frozen=True)
class Raw:
    """A ``Directive``: one raw record, produced as it is."""

    topic: str
    key: str
    value: bytes | None

    def records(self, source: Source) -> list[ProducerRecord]:
        return [ProducerRecord(self.topic, self.key.encode(), self.value, managed=False)]


async def test_directives_records_and_tombstones_pass_through(settings: ServiceSettings) -> None:
    def handle(incoming: Incoming) -> list[Output]:
        return [
            Raw("impact.orchestrator.changelog", "run-1", b'{"k": 1}'),
            Raw("impact.orchestrator.changelog", "run-0", None),
        ]

    bus = make_bus(settings, handle)
    produced = await bus.publish("measure_requested", dict(REQUEST))
    assert [(p.topic, p.key, p.value) for p in produced] == [
        ("impact.orchestrator.changelog", "run-1", b'{"k": 1}'),
        ("impact.orchestrator.changelog", "run-0", None),
    ]
