#!/usr/bin/env python3
"""Create every event topic and its dead-letter topic, then exit (compose's ``topics`` job).

Partitions: ``IMPACT_TOPIC_PARTITIONS`` (default 6, at least the largest replica count you
scale a stage to); existing topics are kept. Waits up to ``--timeout`` seconds for the
broker (and, with an explicit ``IMPACT_TOPIC_REPLICATION_FACTOR``, for enough brokers to
register), then until every partition has a leader.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from aiokafka.errors import KafkaError
from impact_contracts import ConfigError
from impact_kafka.topics import ensure_topics
from impact_runtime import ServiceSettings
from impact_runtime.dlq import dlq_topic
from impact_schemas.catalog import events


def topic_names(prefix: str) -> set[str]:
    names = {spec.topic(prefix) for spec in events()}
    return names | {dlq_topic(name) for name in names}


async def create(settings: ServiceSettings, timeout: float) -> set[str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await ensure_topics(settings, topic_names(settings.topic_prefix))
        except (KafkaError, OSError, ConfigError) as error:  # brokers still registering
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"broker {settings.bootstrap_servers} not reachable: {error!r}"
                ) from None
            await asyncio.sleep(1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    settings = ServiceSettings(service_name="topics")
    created = asyncio.run(create(settings, args.timeout))
    total = len(topic_names(settings.topic_prefix))
    print(f"{len(created)} topics created, {total - len(created)} existed "
          f"({settings.topic_partitions} partitions each)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
