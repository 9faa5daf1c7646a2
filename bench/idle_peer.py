"""The idle-CPU peer: a bare aiokafka consumer loop, as a service's would be without us.

Run by ``bench.idle_bench`` as ``python -m bench.idle_peer BOOTSTRAP TOPIC GROUP WAIT_MS``:
read_committed, manual commits, ``getmany(timeout_ms=200)`` in a loop (the runtime's
``poll_timeout_ms``), the broker's fetch wait ``WAIT_MS``. Prints ``assigned`` once the
group gave it partitions; stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from aiokafka import AIOKafkaConsumer

POLL_TIMEOUT_MS = 200


async def consume(bootstrap: str, topic: str, group: str, fetch_max_wait_ms: int) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        isolation_level="read_committed",
        fetch_max_wait_ms=fetch_max_wait_ms,
    )
    await consumer.start()
    announced = False
    try:
        while not stop.is_set():
            await consumer.getmany(timeout_ms=POLL_TIMEOUT_MS)
            if not announced and consumer.assignment():
                print("assigned", flush=True)
                announced = True
    finally:
        await consumer.stop()


if __name__ == "__main__":
    bootstrap, topic, group, wait_ms = sys.argv[1:5]
    asyncio.run(consume(bootstrap, topic, group, int(wait_ms)))
