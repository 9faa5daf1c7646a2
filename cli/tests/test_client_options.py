"""The CLI and the registry connect to Kafka exactly as the services do: same SASL/SSL
options, compression and sizes from the same ``IMPACT_*`` variables (one builder)."""

from __future__ import annotations

import os
import ssl
from typing import Any

import pytest
from impact_kafka.config import (
    KafkaClientSettings,
    client_options,
    consumer_options,
    producer_options,
)
from impact_observe.bus import Bus
from impact_registry.__main__ import parse_args, schema_log
from impact_runtime import ServiceSettings
from impact_runtime import kafka as runtime_kafka

SECURE_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": "broker-1:9094,broker-2:9094",
    "IMPACT_SECURITY_PROTOCOL": "SASL_SSL",
    "IMPACT_SASL_MECHANISM": "PLAIN",
    "IMPACT_SASL_USERNAME": "impact",
    "IMPACT_SASL_PASSWORD": "s3cret",
    "IMPACT_MAX_MESSAGE_BYTES": str(8 * 1024 * 1024),
    "IMPACT_COMPRESSION_TYPE": "none",
}


@pytest.fixture
def secure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("IMPACT_")]:
        monkeypatch.delenv(name)
    for name, value in SECURE_ENV.items():
        monkeypatch.setenv(name, value)


def comparable(options: dict[str, Any]) -> dict[str, Any]:
    """Options without the client id, the SSL context replaced by its type."""
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    return {**options, "ssl_context": ssl.SSLContext, "client_id": None}


def service_settings() -> ServiceSettings:
    return ServiceSettings(service_name="measure")


@pytest.mark.usefixtures("secure_env")
def test_cli_connects_like_the_services() -> None:
    bus = Bus(os.environ["KAFKA_BOOTSTRAP_SERVERS"], "http://127.0.0.1:1")
    service = service_settings()
    assert comparable(client_options(bus.kafka)) == comparable(client_options(service))
    assert comparable(producer_options(bus.kafka)) == comparable(producer_options(service))
    assert comparable(consumer_options(bus.kafka)) == comparable(consumer_options(service))
    assert client_options(bus.kafka)["sasl_plain_password"] == "s3cret"
    assert producer_options(bus.kafka)["max_request_size"] == 8 * 1024 * 1024
    assert producer_options(bus.kafka)["compression_type"] is None
    assert bus.kafka.client_id == "impact-cli"


@pytest.mark.usefixtures("secure_env")
def test_registry_connects_like_the_services() -> None:
    log = schema_log(parse_args(["--port", "0"]))
    options = client_options(log.kafka)
    assert comparable(options) == comparable(client_options(service_settings()))
    assert options["bootstrap_servers"] == "broker-1:9094,broker-2:9094"
    assert options["sasl_mechanism"] == "PLAIN"
    assert log.kafka.client_id == "impact-registry"


def test_the_runtime_uses_the_same_builders() -> None:
    assert runtime_kafka.consumer_options is consumer_options
    assert runtime_kafka.producer_options is producer_options


def test_service_settings_share_every_kafka_client_field() -> None:
    """Same name, type, default and env var: ServiceSettings cannot drift from the
    settings the CLI and the registry read."""
    shared = set(KafkaClientSettings.model_fields) - {"client_id"}
    for name in sorted(shared):
        ours, theirs = KafkaClientSettings.model_fields[name], ServiceSettings.model_fields[name]
        assert (ours.annotation, ours.default) == (theirs.annotation, theirs.default), name
        assert ours.metadata == theirs.metadata, name
        if ours.validation_alias is not None:
            assert ours.validation_alias == theirs.validation_alias, name
