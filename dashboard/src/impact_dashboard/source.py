"""The dashboard's Kafka side: every run's events, one run's events and dead letters, live.

Reuses the CLI's ``Bus`` (connection settings, codec, ``follow``); everything else is pure
(``model``, ``runs``). Embedded runs (``impact run``) come from the local run history
(``impact_orchestrator.history``) and are shown beside the Kafka runs. A record that
cannot be decoded is skipped here: it is on its topic's DLQ already, and the page lists
the DLQ's reasons.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from typing import Any

from aiokafka import ConsumerRecord
from impact_contracts import PermanentError
from impact_kafka.read import read_to_end
from impact_observe.bus import RUN_EVENTS, Bus
from impact_orchestrator.history import RunHistory
from impact_runtime.dlq import dlq_topic
from impact_schemas.catalog import event_for_topic, topic_for

from impact_dashboard.model import DeadLetter, RunView, run_view
from impact_dashboard.runs import LIST_EVENTS, RunRow, run_rows, sort_rows

Event = tuple[str, dict[str, Any]]
#: Topics whose DLQ may hold a run's records: every topic a service or the orchestrator reads.
DLQ_SOURCES = RUN_EVENTS


class RunSource:
    """Reads runs through one ``Bus``, and embedded runs from ``history`` when given;
    ``timeout_s`` bounds each read to the end."""

    def __init__(self, bus: Bus, timeout_s: float = 60.0, history: RunHistory | None = None):
        self.bus = bus
        self.timeout_s = timeout_s
        self.history = history

    def _recorded(self, run_id: str) -> list[Event]:
        """An embedded run's events from the history ([] for any other run)."""
        return self.history.read(run_id) if self.history is not None else []

    def _topics(self, events: Iterable[str]) -> list[str]:
        return [topic_for(name, self.bus.prefix) for name in events]

    async def _decode(self, record: ConsumerRecord[bytes, bytes]) -> Event | None:
        if record.value is None:
            return None
        try:
            value = await self.bus.codec.decode(record.value, record.topic)
        except PermanentError:
            return None
        return event_for_topic(record.topic).name, value

    async def _read(self, events: Iterable[str], run_id: str | None = None) -> list[Event]:
        found: list[Event] = []
        records = read_to_end(self.bus.kafka, self._topics(events), timeout_s=self.timeout_s)
        async with aclosing(records) as stream:
            async for record in stream:
                if run_id is not None and not _keyed_by(record, run_id):
                    continue
                if (item := await self._decode(record)) is not None:
                    found.append(item)
        return found

    async def runs(self) -> list[RunRow]:
        """One row per run found on the topics now, and per embedded run recorded."""
        rows = run_rows(await self._read(LIST_EVENTS))
        if self.history is not None:
            rows += run_rows(self.history.all_events(LIST_EVENTS), mode="embedded")
        return sort_rows(rows)

    async def run(self, run_id: str) -> RunView:
        """The run as its events up to now show it, dead letters included."""
        if recorded := self._recorded(run_id):
            return run_view(run_id, recorded)
        events = await self._read(RUN_EVENTS, run_id)
        return run_view(run_id, events, await self.dead_letters(run_id))

    async def dead_letters(self, run_id: str) -> list[DeadLetter]:
        """The run's records on any DLQ, with the reason the service gave."""
        if self._recorded(run_id):
            return []  # an embedded run has no topics
        topics = [dlq_topic(topic) for topic in self._topics(DLQ_SOURCES)]
        letters: list[DeadLetter] = []
        records = read_to_end(self.bus.kafka, topics, timeout_s=self.timeout_s)
        async with aclosing(records) as stream:
            async for record in stream:
                headers = {k: v.decode(errors="replace") for k, v in record.headers}
                if _keyed_by(record, run_id) or headers.get("run_id") == run_id:
                    letters.append(_dead_letter(record.topic, headers))
        return letters

    async def follow(self, run_id: str) -> AsyncGenerator[Event, None]:
        """The run's events from the start, live, until the caller stops."""
        if recorded := self._recorded(run_id):
            for item in recorded:
                yield item
            return
        async for item in self.bus.follow(run_id, RUN_EVENTS):
            yield item


def _keyed_by(record: ConsumerRecord[bytes, bytes], run_id: str) -> bool:
    return record.key is not None and record.key.split(b":")[0] == run_id.encode()


def _dead_letter(topic: str, headers: dict[str, str]) -> DeadLetter:
    where = f"{headers.get('dlq.source_topic', '?')}[{headers.get('dlq.partition', '?')}]"
    return DeadLetter(
        topic=topic,
        service=headers.get("dlq.service", ""),
        reason=headers.get("dlq.reason", ""),
        error_type=headers.get("dlq.error_type", ""),
        source=f"{where}@{headers.get('dlq.offset', '?')}",
    )
