"""Run lineage: per initiative, the chain of events from the manifest to the report.

Pure: it takes the decoded events of one run (from any source) and links them by
``causation_id``; the time of a hop is the difference of the ``produced_at`` stamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The hop names in pipeline order, as (event name, phase or None).
HOPS: tuple[tuple[str, str | None], ...] = (
    ("manifest_submitted", None),
    ("measure_requested", "pilot"),
    ("measure_completed", "pilot"),
    ("evaluate_requested", None),
    ("evaluate_completed", None),
    ("allocate_requested", None),
    ("allocate_completed", None),
    ("measure_requested", "scale"),
    ("measure_completed", "scale"),
    ("run_completed", None),
)


@dataclass(frozen=True)
class Hop:
    """One event in an initiative's chain and the time since the event that caused it."""

    event: str
    phase: str | None
    event_id: str
    produced_at: datetime
    since_cause_ms: float | None


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        from datetime import UTC

        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return datetime.fromisoformat(str(value))


def lineage(events: list[tuple[str, dict[str, Any]]]) -> dict[str, list[Hop]]:
    """Build each initiative's chain from ``(event name, value)`` pairs of one run.

    Shared events (manifest, allocate, run_completed) appear in every chain that
    they belong to; an initiative that was not selected ends at allocate_completed.
    """
    by_id = {value["event_id"]: (name, value) for name, value in events}
    per_initiative: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    shared: list[tuple[str, dict[str, Any]]] = []
    for name, value in events:
        initiative = value.get("initiative_id")
        if initiative:
            per_initiative.setdefault(initiative, []).append((name, value))
        else:
            shared.append((name, value))

    chains: dict[str, list[Hop]] = {}
    for initiative, own in sorted(per_initiative.items()):
        chain = own + [(n, v) for n, v in shared if _concerns(n, v, initiative)]
        chains[initiative] = [_hop(name, value, by_id) for name, value in causal_order(chain)]
    return chains


Event = tuple[str, dict[str, Any]]


def causal_order(chain: list[Event]) -> list[Event]:
    """The chain in pipeline order (``HOPS``), then by time. An event outside the
    pipeline (``stage_failed``) comes right after the event that caused it, or, when its
    cause is not in the chain, after the last pipeline hop produced before it."""
    by_id = {value["event_id"]: (name, value) for name, value in chain}
    known = [
        (_order(n, v.get("phase")), _as_datetime(v["produced_at"]))
        for n, v in chain
        if _order(n, v.get("phase")) < len(HOPS)
    ]

    def rank(name: str, value: dict[str, Any], depth: int = 0) -> float:
        order = _order(name, value.get("phase"))
        if order < len(HOPS):
            return order
        cause = by_id.get(value.get("causation_id") or "")
        if cause is not None and depth < len(chain):
            return rank(*cause, depth=depth + 1) + 0.5
        at = _as_datetime(value["produced_at"])
        return max((o for o, t in known if t <= at), default=-1) + 0.5

    return sorted(chain, key=lambda item: (rank(*item), _as_datetime(item[1]["produced_at"])))


def _concerns(name: str, value: dict[str, Any], initiative: str) -> bool:
    if name == "allocate_requested":
        return any(c["initiative_id"] == initiative for c in value.get("initiatives", []))
    if name == "allocate_completed":
        return True
    return name in ("manifest_submitted", "run_completed")


def _order(name: str, phase: str | None) -> int:
    for index, (hop_name, hop_phase) in enumerate(HOPS):
        if hop_name == name and hop_phase in (None, phase):
            return index
    return len(HOPS)


def _hop(name: str, value: dict[str, Any], by_id: dict[str, tuple[str, dict[str, Any]]]) -> Hop:
    produced = _as_datetime(value["produced_at"])
    cause = by_id.get(value.get("causation_id") or "")
    since = None
    if cause is not None:
        since = (produced - _as_datetime(cause[1]["produced_at"])).total_seconds() * 1000
    return Hop(name, value.get("phase"), value["event_id"], produced, since)
