"""aiokafka client construction and topic creation from ServiceSettings."""

from __future__ import annotations

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


async def ensure_topics(settings: ServiceSettings, topics: set[str]) -> set[str]:
    """Create the missing ``topics``; return the ones created. Existing topics are kept."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = sorted(topics - existing)
        if not missing:
            return set()
        new = [
            NewTopic(name, settings.topic_partitions, settings.topic_replication_factor)
            for name in missing
        ]
        response = await admin.create_topics(new)
        for name, code, *_ in response.topic_errors:
            if code and for_code(code) is not TopicAlreadyExistsError:
                raise for_code(code)(f"cannot create topic {name}")
        return set(missing)
    finally:
        await admin.close()
