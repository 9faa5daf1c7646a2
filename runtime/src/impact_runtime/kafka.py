"""aiokafka client construction and topic creation from ServiceSettings."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code
from aiokafka.helpers import create_ssl_context

from impact_runtime.settings import ServiceSettings


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Connection options shared by producer, consumer and admin client."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.service_name,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.ssl_cafile)
    if settings.sasl_mechanism:
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        if settings.sasl_password is not None:
            options["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return options


def make_consumer(settings: ServiceSettings) -> AIOKafkaConsumer:
    """A manually committed, read_committed consumer in the service's group."""
    return AIOKafkaConsumer(
        **client_options(settings),
        group_id=settings.consumer_group,
        enable_auto_commit=False,
        auto_offset_reset=settings.auto_offset_reset,
        isolation_level="read_committed",
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        max_poll_records=settings.max_poll_records,
    )


def make_producer(settings: ServiceSettings, transactional_id: str | None) -> AIOKafkaProducer:
    """An idempotent producer, transactional when ``transactional_id`` is given."""
    return AIOKafkaProducer(
        **client_options(settings),
        enable_idempotence=True,
        acks="all",
        linger_ms=0,
        transactional_id=transactional_id,
        transaction_timeout_ms=settings.transaction_timeout_ms,
    )


async def ensure_topics(
    settings: ServiceSettings,
    topics: set[str],
    *,
    configs: dict[str, str] | None = None,
    ready_timeout_s: float = 30.0,
) -> set[str]:
    """Create the missing ``topics`` (with topic ``configs``) and wait until every
    partition has a leader; return the ones created. Existing topics are kept.

    Raises:
        KafkaError: when the broker refuses to create a topic.
        TimeoutError: when leaders are not elected within ``ready_timeout_s``.
    """
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = sorted(topics - existing)
        if not missing:
            return set()
        new = [
            NewTopic(
                name,
                settings.topic_partitions,
                settings.topic_replication_factor,
                topic_configs=configs or {},
            )
            for name in missing
        ]
        response = await admin.create_topics(new)
        for name, code, *_ in response.topic_errors:
            if code and for_code(code) is not TopicAlreadyExistsError:
                raise for_code(code)(f"cannot create topic {name}")
        await _wait_for_leaders(admin, missing, ready_timeout_s)
        return set(missing)
    finally:
        await admin.close()


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
