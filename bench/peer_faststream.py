"""The FastStream peer of ``bench.peer_apps``: subscriber → publisher, FastStream's defaults.

The handler takes the decoded JSON body and returns it (FastStream encodes it again), as
this project's JSON variants decode and encode.

No ``from __future__ import annotations``: FastStream resolves the handler's annotations
at run time, which needs them as objects.
"""

from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaMessage, KafkaResponse


async def faststream_app(bootstrap: str, source: str, sink: str, group: str) -> None:
    """Copy each record's key and value from ``source`` to ``sink`` until SIGTERM."""
    broker = KafkaBroker(bootstrap)

    @broker.subscriber(source, group_id=group, auto_offset_reset="earliest")
    @broker.publisher(sink)
    async def echo(body: dict[str, Any], message: KafkaMessage) -> KafkaResponse:
        return KafkaResponse(body, key=getattr(message.raw_message, "key", None))

    app = FastStream(broker)
    app.after_startup(lambda: print("started", flush=True))
    await app.run()
