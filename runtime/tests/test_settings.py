"""ServiceSettings: env vars, aliases, defaults, frozenness and validation."""

from __future__ import annotations

import pydantic
import pytest
from impact_runtime import ServiceSettings


def test_env_vars_and_fallback_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPACT_SERVICE_NAME", "measure")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8")
    monkeypatch.setenv("IMPACT_MAX_RETRIES", "7")
    monkeypatch.setenv("IMPACT_PROCESSING_GUARANTEE", "at_least_once")
    settings = ServiceSettings()
    assert settings.service_name == "measure"
    assert settings.bootstrap_servers == "127.0.0.1:9"
    assert settings.schema_registry_url == "http://127.0.0.1:8"
    assert settings.max_retries == 7
    assert settings.processing_guarantee == "at_least_once"
    assert settings.group_id == "impact-measure"


def test_impact_prefixed_env_var_wins_over_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "fallback:1")
    monkeypatch.setenv("IMPACT_BOOTSTRAP_SERVERS", "primary:2")
    assert ServiceSettings(service_name="x").bootstrap_servers == "primary:2"


def test_defaults() -> None:
    settings = ServiceSettings(service_name="allocate", bootstrap_servers="b:1")
    assert settings.topic_prefix == "impact."
    assert settings.processing_guarantee == "exactly_once"
    assert (settings.max_retries, settings.retry_backoff_s) == (5, 0.2)
    assert (settings.http_port, settings.log_format) == (0, "json")
    assert (settings.fetch_max_wait_ms, settings.max_poll_records) == (500, 50)
    assert settings.topic_partitions == 6
    assert settings.consumer_group == "impact-allocate"
    assert ServiceSettings(service_name="a", bootstrap_servers="b", group_id="g").group_id == "g"


def test_settings_are_frozen() -> None:
    settings = ServiceSettings(service_name="a", bootstrap_servers="b:1")
    with pytest.raises(pydantic.ValidationError):
        settings.max_retries = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("processing_guarantee", "maybe_once"),
        ("log_format", "xml"),
        ("max_retries", -1),
        ("http_port", 70000),
        ("retry_backoff_s", 0),
    ],
)
def test_bad_values_raise(field: str, value: object) -> None:
    with pytest.raises(pydantic.ValidationError, match=field):
        ServiceSettings(service_name="a", bootstrap_servers="b:1", **{field: value})  # type: ignore[arg-type]


def test_password_is_hidden() -> None:
    settings = ServiceSettings(service_name="a", bootstrap_servers="b:1", sasl_password="s3cret")
    assert "s3cret" not in repr(settings)
    assert settings.sasl_password is not None
    assert settings.sasl_password.get_secret_value() == "s3cret"


def test_replication_defaults_to_auto_and_takes_integers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = ServiceSettings(service_name="a", bootstrap_servers="b:1")
    assert (settings.topic_replication_factor, settings.topic_min_insync_replicas) == (
        "auto",
        "auto",
    )
    monkeypatch.setenv("IMPACT_TOPIC_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("IMPACT_TOPIC_MIN_INSYNC_REPLICAS", "2")
    settings = ServiceSettings(service_name="a", bootstrap_servers="b:1")
    assert (settings.topic_replication_factor, settings.topic_min_insync_replicas) == (3, 2)
    for bad in ("0", "many"):
        monkeypatch.setenv("IMPACT_TOPIC_REPLICATION_FACTOR", bad)
        with pytest.raises(pydantic.ValidationError, match="topic_replication_factor"):
            ServiceSettings(service_name="a", bootstrap_servers="b:1")
