"""Replication of created topics: ``auto`` follows the cluster size (decision 0061)."""

from __future__ import annotations

import argparse

import pytest
from impact_contracts import ConfigError
from impact_kafka.replication import parse_replication, resolve_replication


@pytest.mark.parametrize(
    ("factor", "min_insync", "brokers", "expected"),
    [
        ("auto", "auto", 1, (1, 1)),
        ("auto", "auto", 2, (2, 1)),
        ("auto", "auto", 3, (3, 2)),
        ("auto", "auto", 5, (3, 2)),
        (1, "auto", 3, (1, 1)),
        (2, "auto", 3, (2, 1)),
        (5, "auto", 6, (5, 2)),
        ("auto", 1, 3, (3, 1)),
        ("auto", 3, 3, (3, 3)),
        (3, 2, 3, (3, 2)),
    ],
)
def test_auto_and_explicit_values(
    factor: int | str, min_insync: int | str, brokers: int, expected: tuple[int, int]
) -> None:
    assert resolve_replication(factor, min_insync, brokers) == expected


def test_a_factor_above_the_brokers_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError) as raised:
        resolve_replication(3, "auto", 1)
    assert str(raised.value) == (
        "IMPACT_TOPIC_REPLICATION_FACTOR=3 needs 3 brokers, the cluster has 1: "
        "lower it or set it to auto"
    )


def test_min_insync_above_the_factor_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError) as raised:
        resolve_replication("auto", 2, 1)
    assert str(raised.value) == (
        "IMPACT_TOPIC_MIN_INSYNC_REPLICAS=2 is above the replication factor 1: "
        "no write could ever be acknowledged"
    )
    names = ("IMPACT_REGISTRY_REPLICATION_FACTOR", "IMPACT_REGISTRY_MIN_INSYNC_REPLICAS")
    with pytest.raises(ConfigError, match=r"^IMPACT_REGISTRY_MIN_INSYNC_REPLICAS=4 is above"):
        resolve_replication(3, 4, 3, names)


@pytest.mark.parametrize(("text", "value"), [("auto", "auto"), ("1", 1), ("3", 3)])
def test_command_line_values(text: str, value: int | str) -> None:
    assert parse_replication(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "three", ""])
def test_bad_command_line_values(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected auto or an integer >= 1"):
        parse_replication(text)
