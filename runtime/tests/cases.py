"""Runtime behaviour written once, run on FakeBus (test_cases_fakebus.py) and on a real
broker (test_cases_kafka.py), like FastStream's ``tests/brokers/base`` classes.

A subclass supplies ``harness(handle, **service_kwargs)``: an async context manager
yielding a :class:`Harness` bound to a running service. Every test ends with a marker
message whose output it waits for; everything the earlier messages produced is then
committed, so ``all(topic)`` is exact on both buses.
"""

from __future__ import annotations

import abc
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from impact_contracts import (
    ComponentError,
    ContractViolation,
    DependencyUnavailable,
    RetryableError,
)
from impact_runtime import Handler, Incoming, JsonCodec, Outgoing, Output
from impact_schemas.catalog import event_spec
from impact_schemas.registry.errors import RegistryUnavailable

MARKER = "marker"


class Harness(Protocol):
    """One service under test, whatever bus it runs on."""

    prefix: str

    async def send(self, event: str, value: dict[str, Any], key: str | None = None) -> None: ...

    async def send_raw(self, topic: str, data: bytes | None, key: str) -> None: ...

    async def take(self, topic: str, count: int) -> list[Any]:
        """Wait until ``topic`` holds ``count`` records; return all (Produced-like)."""
        ...

    async def all(self, topic: str) -> list[Any]:
        """Every record on ``topic`` so far."""
        ...

    def metric(self, name: str, labels: dict[str, str]) -> float | None: ...


def request(initiative_id: str, x: int = 1) -> dict[str, Any]:
    return {"run_id": "run-1", "initiative_id": initiative_id, "phase": "pilot", "x": x}


def completed(incoming: Incoming) -> list[Output]:
    value = {"initiative_id": incoming.value["initiative_id"], "doubled": 2 * incoming.value["x"]}
    return [Outgoing("measure_completed", incoming.value["run_id"], value)]


def failing_for(bad: str, error: Exception) -> Handler:
    """Completes every initiative but ``bad``, for which it raises ``error``."""

    def handle(incoming: Incoming) -> list[Output]:
        if incoming.value["initiative_id"] == bad:
            raise error
        return completed(incoming)

    return handle


class FlakyCodec(JsonCodec):
    """A JsonCodec whose registry is unreachable for the first ``failures`` decodes."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def decode(self, data: bytes, topic: str) -> dict[str, Any]:
        if self.failures > 0:
            self.failures -= 1
            raise RegistryUnavailable("schema registry http://127.0.0.1:9 unreachable")
        return await super().decode(data, topic)


class RuntimeCases(abc.ABC):
    """The runtime's routing guarantees, independent of the bus."""

    @abc.abstractmethod
    def harness(self, handle: Handler, **service: Any) -> AbstractAsyncContextManager[Harness]:
        """A started service running ``handle`` (``service`` = Service kwargs)."""

    async def _finish(self, h: Harness) -> list[Any]:
        """Send the marker and wait for its output: earlier work is then all committed."""
        await h.send("measure_requested", request(MARKER, 21), key=f"run-1:{MARKER}")
        sink = topic(h, "measure_completed")
        records = await h.take(sink, 1)
        while records[-1].value["initiative_id"] != MARKER:  # earlier work committed first
            records = await h.take(sink, len(records) + 1)
        return records

    async def test_outputs_carry_the_envelope_of_their_cause(self) -> None:
        async with self.harness(completed) as h:
            [out] = await self._finish(h)
        assert out.key == "run-1"
        assert out.value["doubled"] == 42
        assert out.value["run_id"] == "run-1"
        assert out.value["schema_version"] == event_spec("measure_completed").version
        assert out.headers["causation_id"] == out.value["causation_id"] != out.value["event_id"]
        assert out.headers["run_id"] == "run-1"

    async def test_poison_goes_to_the_dlq_and_the_next_message_is_processed(self) -> None:
        async with self.harness(completed, failure_stage="measure") as h:
            source = topic(h, "measure_requested")
            await h.send_raw(source, b"\x00\x00\x00\x00\x07garbage", key="bad-1")
            await h.send_raw(source, b"[1, 2]", key="bad-2")
            await self._finish(h)
            dead = await h.all(f"{source}.dlq")
            failed = await h.all(topic(h, "stage_failed"))
        assert [(d.key, d.value) for d in dead] == [
            ("bad-1", b"\x00\x00\x00\x00\x07garbage"),
            ("bad-2", b"[1, 2]"),
        ]
        assert [d.headers["dlq.error_type"] for d in dead] == ["SchemaMismatch"] * 2
        assert dead[1].headers["dlq.reason"] == "SchemaMismatch: expected a JSON object, got list"
        assert failed == []  # undecodable: no run to tell

    async def test_a_component_bug_ends_the_initiative_with_stage_failed(self) -> None:
        def buggy(incoming: Incoming) -> list[Output]:
            if incoming.value["initiative_id"] == "bug":
                return [[][1]]  # IndexError, as the allocator's once did
            return completed(incoming)

        async with self.harness(buggy, failure_stage="allocate") as h:
            await h.send("measure_requested", request("bug"))
            await self._finish(h)
            [failed] = await h.all(topic(h, "stage_failed"))
            dead = await h.all(f"{topic(h, 'measure_requested')}.dlq")
        assert dead == []
        assert failed.key == "run-1"
        value = failed.value
        assert (value["stage"], value["initiative_id"], value["error_type"]) == (
            "allocate",
            "bug",
            "IndexError",
        )
        assert value["reason"].startswith("unexpected IndexError: list index out of range at ")
        assert "cases.py:" in value["reason"]
        assert value["run_id"] == "run-1"

    async def test_a_permanent_error_becomes_stage_failed(self) -> None:
        handle = failing_for("a", ComponentError("no data for a"))
        async with self.harness(handle, failure_stage="measure") as h:
            await h.send("measure_requested", request("a"))
            await self._finish(h)
            [failed] = await h.all(topic(h, "stage_failed"))
            dead = await h.all(f"{topic(h, 'measure_requested')}.dlq")
        assert dead == []
        assert {k: failed.value[k] for k in ("stage", "initiative_id", "phase")} == {
            "stage": "measure",
            "initiative_id": "a",
            "phase": "pilot",
        }
        assert (failed.value["reason"], failed.value["error_type"]) == (
            "no data for a",
            "ComponentError",
        )

    async def test_a_contract_violation_is_dead_lettered_and_ends_the_initiative(self) -> None:
        handle = failing_for("a", ContractViolation("measure_requested.phase: 'x' is invalid"))
        async with self.harness(handle, failure_stage="measure") as h:
            await h.send("measure_requested", request("a"), key="run-1:a")
            await self._finish(h)
            [failed] = await h.all(topic(h, "stage_failed"))
            [dead] = await h.all(f"{topic(h, 'measure_requested')}.dlq")
        assert dead.key == "run-1:a"
        assert dead.headers["dlq.error_type"] == "ContractViolation"
        assert dead.headers["dlq.reason"] == (
            "ContractViolation: measure_requested.phase: 'x' is invalid"
        )
        assert (failed.value["initiative_id"], failed.value["error_type"]) == (
            "a",
            "ContractViolation",
        )

    async def test_a_component_retryable_error_is_retried_then_ends_the_initiative(
        self,
    ) -> None:
        handle = failing_for("a", RetryableError("quota exceeded"))
        async with self.harness(handle, failure_stage="measure") as h:
            await h.send("measure_requested", request("a"))
            await self._finish(h)
            [failed] = await h.all(topic(h, "stage_failed"))
            dead = await h.all(f"{topic(h, 'measure_requested')}.dlq")
            retried = h.metric("impact_messages_retried_total", {"topic": h.prefix + SOURCE})
        assert dead == []
        assert failed.value["error_type"] == "RetriesExhausted"
        assert failed.value["reason"] == (
            "gave up after 4 attempts: RetryableError: quota exceeded"  # max_retries=3
        )
        assert retried == 3.0

    async def test_an_unreachable_registry_is_waited_out_never_dead_lettered(self) -> None:
        async with self.harness(completed, failure_stage="measure", codec=FlakyCodec(4)) as h:
            [out] = await self._finish(h)
            dead = await h.all(f"{topic(h, 'measure_requested')}.dlq")
            steps = h.metric("impact_dependency_backoff_total", {"dependency": "schema_registry"})
            waiting = h.metric("impact_dependency_waiting", {"dependency": "schema_registry"})
        assert out.value["doubled"] == 42
        assert dead == []
        assert (steps, waiting) == (4.0, 0.0)

    async def test_a_data_source_outage_is_waited_out_beyond_max_retries(self) -> None:
        outages = iter(range(5))  # more than max_retries

        def handle(incoming: Incoming) -> list[Output]:
            if incoming.value["initiative_id"] == "a" and next(outages, None) is not None:
                raise DependencyUnavailable("s3", "s3://b/k.csv: s3 unreachable: refused")
            return completed(incoming)

        async with self.harness(handle, failure_stage="measure") as h:
            await h.send("measure_requested", request("a"))
            records = await self._finish(h)
            failed = await h.all(topic(h, "stage_failed"))
            dead = await h.all(f"{topic(h, 'measure_requested')}.dlq")
            steps = h.metric("impact_dependency_backoff_total", {"dependency": "s3"})
        assert [r.value["initiative_id"] for r in records] == ["a", MARKER]
        assert (failed, dead, steps) == ([], [], 5.0)


SOURCE = "measure.requested.v1"


def topic(h: Harness, event: str) -> str:
    """The topic of ``event`` (``stage_failed`` → ``<prefix>stage.failed.v1``)."""
    return f"{h.prefix}{event.replace('_', '.')}.v1"
