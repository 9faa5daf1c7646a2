"""FakeBus assigns the service its partitions as joining the group does on Kafka: the
service's ``assigned`` hook runs, then it is ready."""

from __future__ import annotations

from aiokafka import TopicPartition
from impact_runtime import FakeBus, Incoming, Outgoing, Output, Service, ServiceSettings


def completed(incoming: Incoming) -> list[Output]:
    return [Outgoing("measure_completed", incoming.value["run_id"], {"initiative_id": "a"})]


class Assigned(Service):
    """Records each assignment, and what it held when its first event was handled."""

    def __init__(self, settings: ServiceSettings) -> None:
        super().__init__(settings, ["measure_requested", "run_command"], self.on_event)
        self.assignments: list[set[TopicPartition]] = []
        self.seen_assigned: list[bool] = []

    async def assigned(self, partitions: set[TopicPartition]) -> None:
        self.assignments.append(partitions)

    def on_event(self, incoming: Incoming) -> list[Output]:
        self.seen_assigned.append(bool(self.assignments))
        return completed(incoming)


async def test_entering_the_bus_assigns_partition_0_of_every_input(
    settings: ServiceSettings,
) -> None:
    service = Assigned(settings)
    assert not service.ready.is_set()
    async with FakeBus(service) as bus:
        assert service.assignments == [
            {
                TopicPartition("impact.measure.requested.v1", 0),
                TopicPartition("impact.run.command.v1", 0),
            }
        ]
        assert service.ready.is_set() and service.assignment == service.assignments[0]
        await bus.publish("measure_requested", {"run_id": "run-1", "x": 1})
    assert service.seen_assigned == [True]


async def test_a_later_assignment_replaces_the_first(settings: ServiceSettings) -> None:
    service = Assigned(settings)
    async with FakeBus(service) as bus:
        await bus.assign({TopicPartition("impact.measure.requested.v1", 3)})
    assert service.assignment == {TopicPartition("impact.measure.requested.v1", 3)}
    assert len(service.assignments) == 2
