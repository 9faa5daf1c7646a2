"""Orchestrator settings for a test on a real broker: fresh uuid-tagged topics, group and
changelog, so tests sharing a broker never see each other's records."""

from __future__ import annotations

import uuid
from typing import Any

from impact_orchestrator.service import Settings


def settings_for(bootstrap: str, prefix: str = "orc", **overrides: Any) -> Settings:
    """Settings on topics ``<prefix><tag>.*`` (one partition, a 0.2 s tick unless
    ``overrides`` say otherwise)."""
    tag = uuid.uuid4().hex[:10]
    fields: dict[str, Any] = {
        "topic_partitions": 1,
        "tick_interval_s": 0.2,
        "log_format": "console",
        "log_level": "WARNING",
        **overrides,
    }
    return Settings(
        bootstrap_servers=bootstrap,
        topic_prefix=f"{prefix}{tag}.",
        group_id=f"{prefix}-{tag}",
        changelog_topic=f"{prefix}{tag}.orchestrator.changelog",
        **fields,
    )
