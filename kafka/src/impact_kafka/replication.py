"""Replication of the topics the project creates (decision 0061).

``IMPACT_TOPIC_REPLICATION_FACTOR`` and ``IMPACT_TOPIC_MIN_INSYNC_REPLICAS`` default to
``auto``: replication factor ``min(3, brokers)`` and ``min.insync.replicas``
``min(2, RF - 1)`` but at least 1, so a cluster of 3 or more brokers gets RF 3 / min ISR 2
(one broker may die without losing an acknowledged write or stopping producers) and a
single local broker RF 1 / min ISR 1. Integers override; impossible values are a
``ConfigError`` naming the setting.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Annotated, Literal

from impact_contracts import ConfigError
from pydantic import Field

if TYPE_CHECKING:
    from aiokafka.admin import AIOKafkaAdminClient

__all__ = [
    "MinInsyncReplicas",
    "ReplicationFactor",
    "broker_count",
    "parse_replication",
    "resolve_replication",
    "topic_replication",
]

AUTO = "auto"
#: The most replicas ``auto`` asks for, and the most in-sync replicas it requires.
AUTO_MAX_REPLICAS = 3
AUTO_MAX_MIN_INSYNC = 2

Replication = Annotated[int, Field(ge=1)] | Literal["auto"]
ReplicationFactor = Annotated[
    Replication,
    Field(
        description="IMPACT_TOPIC_REPLICATION_FACTOR: replicas of every topic the project "
        "creates; auto (default) = min(3, brokers in the cluster)."
    ),
]
MinInsyncReplicas = Annotated[
    Replication,
    Field(
        description="IMPACT_TOPIC_MIN_INSYNC_REPLICAS: min.insync.replicas of those topics; "
        "auto (default) = min(2, replication factor - 1), at least 1."
    ),
]


#: The env vars a message names (the registry passes its own).
SETTING_NAMES = ("IMPACT_TOPIC_REPLICATION_FACTOR", "IMPACT_TOPIC_MIN_INSYNC_REPLICAS")


def resolve_replication(
    factor: int | str,
    min_insync: int | str,
    brokers: int,
    names: tuple[str, str] = SETTING_NAMES,
) -> tuple[int, int]:
    """``(replication factor, min.insync.replicas)`` for a cluster of ``brokers`` brokers.

    Raises:
        ConfigError: when the factor exceeds the brokers, or min ISR exceeds the factor.
    """
    replicas = min(AUTO_MAX_REPLICAS, brokers) if factor == AUTO else int(factor)
    if replicas > brokers:
        raise ConfigError(
            f"{names[0]}={replicas} needs {replicas} brokers, the "
            f"cluster has {brokers}: lower it or set it to auto"
        )
    if min_insync == AUTO:
        in_sync = max(1, min(AUTO_MAX_MIN_INSYNC, replicas - 1))
    else:
        in_sync = int(min_insync)
    if in_sync > replicas:
        raise ConfigError(
            f"{names[1]}={in_sync} is above the replication factor "
            f"{replicas}: no write could ever be acknowledged"
        )
    return replicas, in_sync


def parse_replication(text: str) -> int | str:
    """A command-line value (argparse ``type``): ``auto`` or an integer of at least 1."""
    if text.strip() == AUTO:
        return AUTO
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected auto or an integer >= 1, got {text!r}")
    return int(text)


async def broker_count(admin: AIOKafkaAdminClient) -> int:
    """How many brokers the cluster's metadata lists (a started admin client)."""
    return len((await admin.describe_cluster())["brokers"])


async def topic_replication(
    admin: AIOKafkaAdminClient,
    factor: int | str,
    min_insync: int | str,
    names: tuple[str, str] = SETTING_NAMES,
) -> tuple[int, dict[str, str]]:
    """The replication factor and the ``min.insync.replicas`` topic config for new topics
    (``resolve_replication`` on the brokers the admin client sees)."""
    brokers = await broker_count(admin)
    replicas, in_sync = resolve_replication(factor, min_insync, brokers, names)
    return replicas, {"min.insync.replicas": str(in_sync)}
