"""Creating the topics a client needs and waiting until every partition has a leader;
the partition counts of existing topics."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError, for_code

from impact_kafka.config import KafkaClientConfig, client_options, topic_configs
from impact_kafka.replication import topic_replication

__all__ = [
    "TopicSettings",
    "ensure_topics",
    "partition_counts",
    "partitions_if_exists",
    "topic_partitions",
]


class TopicSettings(KafkaClientConfig, Protocol):
    """What :func:`ensure_topics` reads (``impact_runtime.ServiceSettings`` has it all)."""

    @property
    def topic_partitions(self) -> int:
        """Partitions of each topic created."""

    @property
    def topic_replication_factor(self) -> int | str:
        """``auto`` or the replicas of each topic created."""

    @property
    def topic_min_insync_replicas(self) -> int | str:
        """``auto`` or the ``min.insync.replicas`` of each topic created."""


async def ensure_topics(
    settings: TopicSettings,
    topics: set[str],
    *,
    configs: dict[str, str] | None = None,
    ready_timeout_s: float = 30.0,
) -> set[str]:
    """Create the missing ``topics`` (with the size and replication configs plus
    ``configs``) and wait until every partition of every one of them has a leader, also of
    those another process is creating at the same moment; return the ones created.
    Existing topics are kept. Replication follows ``IMPACT_TOPIC_REPLICATION_FACTOR`` and
    ``IMPACT_TOPIC_MIN_INSYNC_REPLICAS`` (``auto``: RF 3 / min ISR 2 on 3+ brokers).

    Raises:
        ConfigError: when the replication settings do not fit the cluster.
        KafkaError: when the broker refuses to create a topic.
        TimeoutError: when leaders are not elected within ``ready_timeout_s``.
    """
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = sorted(topics - existing)
        if missing:
            await _create(admin, settings, missing, configs)
        # a topic listed (or refused as existing) may still be without partitions in the
        # metadata: another replica created it a moment ago
        await _wait_for_leaders(admin, sorted(topics), ready_timeout_s)
        return set(missing)
    finally:
        await admin.close()


async def _create(
    admin: AIOKafkaAdminClient,
    settings: TopicSettings,
    missing: list[str],
    configs: dict[str, str] | None,
) -> None:
    replicas, replication_configs = await topic_replication(
        admin, settings.topic_replication_factor, settings.topic_min_insync_replicas
    )
    new = [
        NewTopic(
            name,
            settings.topic_partitions,
            replicas,
            topic_configs={**topic_configs(settings), **replication_configs, **(configs or {})},
        )
        for name in missing
    ]
    response = await admin.create_topics(new)
    for name, code, *_ in response.topic_errors:
        if code and for_code(code) is not TopicAlreadyExistsError:
            raise for_code(code)(f"cannot create topic {name}")


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, topics: list[str], timeout_s: float
) -> None:
    """Producing to a topic before its partitions have leaders fails the transaction."""
    deadline = time.monotonic() + timeout_s
    while True:
        described = await admin.describe_topics(topics)
        ready = [
            t["topic"]
            for t in described
            if t["error_code"] == 0
            and t["partitions"]
            and all(p["leader"] >= 0 for p in t["partitions"])
        ]
        if len(ready) == len(topics):
            return
        if time.monotonic() > deadline:
            waiting = sorted(set(topics) - set(ready))
            raise TimeoutError(f"no partition leaders after {timeout_s:.0f} s for {waiting}")
        await asyncio.sleep(0.1)


async def topic_partitions(config: KafkaClientConfig, topics: list[str]) -> dict[str, int]:
    """Partitions per topic of ``topics`` (see :func:`partition_counts`)."""
    admin = AIOKafkaAdminClient(**client_options(config))
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return partition_counts(described)


async def partitions_if_exists(config: KafkaClientConfig, topic: str) -> int | None:
    """Partitions of ``topic``; None when the cluster does not list it."""
    admin = AIOKafkaAdminClient(**client_options(config))
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return None
    finally:
        await admin.close()
    return (await topic_partitions(config, [topic]))[topic]


def partition_counts(described: list[dict[str, Any]]) -> dict[str, int]:
    """Partitions per topic of a DescribeTopics answer.

    Raises:
        UnknownTopicOrPartitionError: a topic has no metadata yet on the broker asked (on a
            cluster, a topic just created may be known to one broker and not yet another);
            retriable, so the start waits it out instead of seeing 0 partitions.
    """
    unknown = sorted(t["topic"] for t in described if t["error_code"] or not t["partitions"])
    if unknown:
        raise UnknownTopicOrPartitionError(f"no partition metadata yet for {unknown}")
    return {t["topic"]: len(t["partitions"]) for t in described}
