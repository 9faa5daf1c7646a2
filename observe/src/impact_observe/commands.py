"""People's decisions on a run as ``run_command`` events: who decides, and the publishing
of one command (``impact approve``/``reject``/``scale`` and the dashboard's buttons)."""

from __future__ import annotations

import getpass
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from impact_observe.bus import Bus


def actor(by: str | None) -> str:
    """Who a command is recorded as: ``--by``/``IMPACT_ACTOR``, else the login name."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container): the environment's
        return os.environ.get("USER") or "unknown"


async def publish_command(bus: Bus, run_id: str, command: dict[str, Any]) -> str:
    """Publish one ``run_command`` for ``run_id``; its event id."""
    from aiokafka import AIOKafkaProducer
    from impact_kafka.config import producer_options
    from impact_schemas.catalog import topic_for
    from impact_schemas.events import new_envelope

    value = {**new_envelope(run_id), "note": None, "drop": [], "initiative_id": None}
    value |= {"measure_config": {}, **command}
    topic = topic_for("run_command", bus.prefix)
    data = await bus.codec.encode("run_command", value, topic)
    key = run_id.encode()
    headers = [("run_id", key), ("event_id", value["event_id"].encode())]
    producer = AIOKafkaProducer(**producer_options(bus.kafka), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, data, key=key, headers=headers)
    finally:
        await producer.stop()
    return str(value["event_id"])
