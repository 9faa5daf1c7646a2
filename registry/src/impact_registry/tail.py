"""Every committed record of ``_schemas``, applied in log order as it arrives.

Every instance changes its state only here. The writer hands its own records over once
they are committed (``applied``), in the log's order: after its promotion caught up with
the log nobody else can commit, so they follow everything the tail applied; the tail then
skips them when it reads them back. Reads are ``read_committed``: a fenced writer's aborted
records are never applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from impact_kafka.config import KafkaClientConfig, consumer_options

Apply = Callable[[dict[str, Any], dict[str, Any] | None], None]
#: How long an idle tail waits on the broker per fetch (a record ends the wait at once).
FETCH_WAIT_MS = 200


class LogTailer:
    """Applies the records of partition 0 of ``topic`` with ``apply``; ``position`` is the
    offset up to which the state is built (the next one to read)."""

    def __init__(self, kafka: KafkaClientConfig, topic: str, apply: Apply) -> None:
        self.kafka, self.topic, self.apply = kafka, topic, apply
        self.partition = TopicPartition(topic, 0)
        self.position = 0
        self._skip_through = -1
        self._moved = asyncio.Condition()
        self._consumer: AIOKafkaConsumer | None = None
        self._offsets: AIOKafkaConsumer | None = None
        self._acked: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **consumer_options(self.kafka),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            fetch_max_wait_ms=FETCH_WAIT_MS,
        )
        await self._consumer.start()
        # end offsets on a connection of their own: the broker answers a connection's
        # requests in order, so behind the tail's long-polling fetch they would wait for it
        self._offsets = AIOKafkaConsumer(
            **consumer_options(self.kafka), group_id=None, isolation_level="read_committed"
        )
        await self._offsets.start()
        self._acked = AIOKafkaConsumer(
            **consumer_options(self.kafka), group_id=None, isolation_level="read_uncommitted"
        )
        await self._acked.start()
        self._consumer.assign([self.partition])
        await self._consumer.seek_to_beginning(self.partition)
        self._task = asyncio.create_task(self._run(self._consumer))

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await consumer.getmany(self.partition, timeout_ms=FETCH_WAIT_MS * 2)
            for record in batch.get(self.partition, []):
                if record.key is not None and record.offset > self._skip_through:
                    value = None if record.value is None else json.loads(record.value)
                    self.apply(json.loads(record.key), value)
            position = await consumer.position(self.partition)
            if position > self.position:
                await self._moved_to(position)

    async def _moved_to(self, position: int) -> None:
        self.position = position
        async with self._moved:
            self._moved.notify_all()

    def skip_through(self, last_offset: int) -> None:
        """Records up to ``last_offset`` are this instance's own: ``applied`` applies them."""
        self._skip_through = last_offset

    async def applied(
        self, records: list[tuple[dict[str, Any], dict[str, Any] | None]], last_offset: int
    ) -> None:
        """This instance's own ``records``, committed up to ``last_offset``: applied now,
        skipped when read back."""
        for key, value in records:
            self.apply(key, value)
        await self._moved_to(max(self.position, last_offset + 1))

    async def end(self, *, acknowledged: bool = False) -> int:
        """The last stable offset now: every record committed before this call is below it.
        With ``acknowledged``, the high watermark: also every record acknowledged before it
        whose transaction's commit marker is not written yet (a writer replies after its
        commit, but the broker writes the markers after that reply)."""
        offsets = self._acked if acknowledged else self._offsets
        if offsets is None:
            raise RuntimeError("LogTailer.end() before start()")
        return int((await offsets.end_offsets([self.partition]))[self.partition])

    async def wait_for(self, position: int, timeout_s: float) -> None:
        """Return once the state is built up to ``position`` (TimeoutError after
        ``timeout_s``; a stopped tail raises its error)."""
        async with asyncio.timeout(timeout_s), self._moved:
            while self.position < position:
                if self._task is not None and self._task.done():
                    self._task.result()
                    raise RuntimeError("the _schemas tail stopped")
                if self._consumer is not None:
                    # past commit markers too (no records: ``_run`` would wait for more);
                    # never ahead of ``apply``: records are applied in the step that
                    # drains them
                    self.position = max(
                        self.position, await self._consumer.position(self.partition)
                    )
                if self.position < position:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.05):
                            await self._moved.wait()

    async def sync(self, timeout_s: float, *, acknowledged: bool = False) -> None:
        """Catch up with everything committed (``acknowledged``: acknowledged) so far."""
        await self.wait_for(await self.end(acknowledged=acknowledged), timeout_s)

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
        for consumer in (self._consumer, self._offsets, self._acked):
            if consumer is not None:
                await consumer.stop()
        self._consumer = self._offsets = self._acked = None


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait for it, whatever it raises (a background loop stopping)."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
