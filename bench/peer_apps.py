"""The peers of ``bench.peer_hops_bench``: echo loops without this project's runtime.

Run as ``python -m bench.peer_apps KIND BOOTSTRAP SOURCE SINK GROUP`` with ``KIND`` one of

- ``raw``: an aiokafka consume → produce loop, at least once: read_committed, an
  idempotent ``acks=all`` producer, every ack awaited, then the offsets committed;
- ``raw_txn``: the same loop with one transaction per batch (records plus
  ``send_offsets_to_transaction``);
- ``faststream``: a FastStream ``@broker.subscriber`` → ``@broker.publisher`` app with
  FastStream's defaults.

Each copies every record's key and value to ``SINK`` unchanged, uses the runtime's fetch
wait, poll timeout and batch size (``ServiceSettings`` defaults), prints ``started`` once
connected and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from impact_runtime.settings import ServiceSettings

FIELDS = ServiceSettings.model_fields
FETCH_MAX_WAIT_MS = FIELDS["fetch_max_wait_ms"].default
POLL_TIMEOUT_MS = FIELDS["poll_timeout_ms"].default
MAX_POLL_RECORDS = FIELDS["max_poll_records"].default


def consumer(bootstrap: str, source: str, group: str) -> AIOKafkaConsumer:
    """A read_committed, manually committed consumer with the runtime's fetch settings."""
    return AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        max_poll_records=MAX_POLL_RECORDS,
    )


async def raw_loop(bootstrap: str, source: str, sink: str, group: str, txn: bool) -> None:
    """Echo ``source`` to ``sink`` until SIGTERM (``txn``: one transaction per batch)."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    reader = consumer(bootstrap, source, group)
    writer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=0,
        transactional_id=f"{group}-{uuid.uuid4().hex[:8]}" if txn else None,
    )
    await writer.start()
    await reader.start()
    print("started", flush=True)
    try:
        while not stop.is_set():
            batch = await reader.getmany(timeout_ms=POLL_TIMEOUT_MS, max_records=MAX_POLL_RECORDS)
            if not batch:
                continue
            offsets = {tp: messages[-1].offset + 1 for tp, messages in batch.items()}
            if txn:
                async with writer.transaction():
                    await _send(writer, sink, batch)
                    await writer.send_offsets_to_transaction(offsets, group)
            else:
                await _send(writer, sink, batch)
                await reader.commit(offsets)
    finally:
        await reader.stop()
        await writer.stop()


async def _send(writer: AIOKafkaProducer, sink: str, batch: dict[Any, list[Any]]) -> None:
    futures = [
        await writer.send(sink, m.value, key=m.key) for messages in batch.values() for m in messages
    ]
    await asyncio.gather(*futures)


def main() -> None:
    kind, bootstrap, source, sink, group = sys.argv[1:6]
    if kind == "faststream":
        from bench.peer_faststream import faststream_app  # bench group only

        asyncio.run(faststream_app(bootstrap, source, sink, group))
    elif kind in ("raw", "raw_txn"):
        asyncio.run(raw_loop(bootstrap, source, sink, group, txn=kind == "raw_txn"))
    else:
        raise SystemExit(f"unknown peer kind {kind!r}: expected raw, raw_txn or faststream")


if __name__ == "__main__":
    main()
