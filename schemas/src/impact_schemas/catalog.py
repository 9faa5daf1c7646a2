"""The event catalog: every event's name, major, schema, default topic and key kind.

Schemas ship as ``avro/<event>.v<major>.avsc`` package data. Topics carry the major
(``impact.measure.requested.v1``, decision 0003); subjects follow the TopicNameStrategy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import fastavro
from impact_contracts import ConfigError

DEFAULT_PREFIX = "impact."
KeyKind = Literal["run_id", "run_id:initiative_id"]

#: Event name → key kind (docs/interfaces.md, "Events").
_KEYS: dict[str, KeyKind] = {
    "manifest_submitted": "run_id",
    "measure_requested": "run_id:initiative_id",
    "measure_completed": "run_id",
    "evaluate_requested": "run_id:initiative_id",
    "evaluate_completed": "run_id",
    "allocate_requested": "run_id",
    "allocate_completed": "run_id",
    "run_status": "run_id",
    "run_completed": "run_id",
    "stage_failed": "run_id",
    "run_command": "run_id",
}
EVENT_NAMES: tuple[str, ...] = tuple(_KEYS)


def parse_version(version: str) -> tuple[int, int]:
    """``"1.2"`` → ``(1, 2)``; anything else raises ``ValueError``."""
    major, sep, minor = version.partition(".")
    if not sep or not major.isdigit() or not minor.isdigit():
        raise ValueError(f"schema version must look like 'major.minor', got {version!r}")
    return int(major), int(minor)


@dataclass(frozen=True)
class EventSpec:
    """One event type at one major version."""

    name: str
    major: int
    key_kind: KeyKind

    @property
    def raw_schema(self) -> dict[str, Any]:
        """The shipped ``.avsc`` (JSON dict); ``ConfigError`` if this major has none."""
        return load_schema(self.name, self.major)

    @property
    def version(self) -> str:
        """The schema's ``"major.minor"`` (top-level ``version`` property)."""
        return str(self.raw_schema["version"])

    @property
    def parsed_schema(self) -> Any:
        """The fastavro-parsed schema (cached)."""
        return _parse(self.name, self.major)

    @property
    def topic_suffix(self) -> str:
        """Topic name without the prefix, e.g. ``measure.requested.v1``."""
        return f"{self.name.replace('_', '.')}.v{self.major}"

    def topic(self, prefix: str = DEFAULT_PREFIX) -> str:
        return f"{prefix}{self.topic_suffix}"

    def key(self, value: dict[str, Any]) -> str:
        """The Kafka key for an event value (``run_id`` or ``run_id:initiative_id``)."""
        if self.key_kind == "run_id":
            return str(value["run_id"])
        return f"{value['run_id']}:{value['initiative_id']}"


@cache
def load_schema(event: str, major: int = 1) -> dict[str, Any]:
    """The raw schema (JSON dict) of ``event`` at ``major``; unknown ones raise ConfigError."""
    if event not in _KEYS:
        raise ConfigError(f"unknown event {event!r}; known: {', '.join(EVENT_NAMES)}")
    path = resources.files("impact_schemas") / "avro" / f"{event}.v{major}.avsc"
    if not path.is_file():
        raise ConfigError(f"no schema for event {event!r} at major version {major}")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@cache
def _parse(event: str, major: int) -> Any:
    return fastavro.parse_schema(load_schema(event, major))


@cache
def event_spec(event: str, major: int = 1) -> EventSpec:
    """The ``EventSpec`` of ``event`` at ``major`` (one per pair: it is frozen)."""
    if event not in _KEYS:
        raise ConfigError(f"unknown event {event!r}; known: {', '.join(EVENT_NAMES)}")
    return EventSpec(event, major, _KEYS[event])


def events(major: int = 1) -> list[EventSpec]:
    """Every event at ``major``, in pipeline order."""
    return [event_spec(name, major) for name in EVENT_NAMES]


def topic_for(event: str, prefix: str = DEFAULT_PREFIX, major: int = 1) -> str:
    """Default topic of ``event``: ``topic_for("run_status") == "impact.run.status.v1"``."""
    return event_spec(event, major).topic(prefix)


def event_for_topic(topic: str) -> EventSpec:
    """The event a topic carries, whatever its prefix (matched on ``<event>.v<major>``)."""
    base, _, major_part = topic.rpartition(".v")
    if base and major_part.isdigit():
        for name in EVENT_NAMES:
            dotted = name.replace("_", ".")
            if base == dotted or base.endswith("." + dotted):
                return event_spec(name, int(major_part))
    raise ConfigError(
        f"topic {topic!r} does not name a known event (expected '<prefix><event>.vN')"
    )


def subject_for(topic: str) -> str:
    """TopicNameStrategy value subject: ``<topic>-value``."""
    return f"{topic}-value"
