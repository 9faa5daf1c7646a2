"""Run lineage: per initiative, the chain of events from the manifest to the report.

Pure: it takes the decoded events of one run (from any source) and links them by
``causation_id``; the time of a hop is the difference of the ``produced_at`` stamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from impact_observe.stages import HOPS

#: how far after its cause a pipeline hop ranks when its cause ranks after its own place
AFTER_CAUSE = 0.01


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
        ordered = causal_order(chain, by_id)
        chains[initiative] = [_hop(name, value, by_id) for name, value in ordered]
    return chains


Event = tuple[str, dict[str, Any]]


def causal_order(chain: list[Event], causes: dict[str, Event] | None = None) -> list[Event]:
    """The chain in pipeline order (``HOPS``), then by time. An event outside the
    pipeline (``stage_failed``, a person's ``run_command``) comes right after the event
    that caused it, or, when its cause is not in the chain, after the last pipeline hop
    produced before it; a pipeline hop never comes before its cause (the allocation an
    amendment asks for sits after the ``run_command`` that asked for it). ``causes``:
    every event of the run by id (default: the chain's), to find a cause outside the
    chain."""
    by_id = causes or {value["event_id"]: (name, value) for name, value in chain}
    pipeline = [(n, v) for n, v in chain if _order(n, v.get("phase")) < len(HOPS)]
    limit = len(by_id) + len(chain)
    ranks: dict[str, float] = {}

    def rank(name: str, value: dict[str, Any], depth: int = 0) -> float:
        if (known := ranks.get(value["event_id"])) is None:
            known = ranks[value["event_id"]] = _rank(name, value, depth)
        return known

    def _rank(name: str, value: dict[str, Any], depth: int) -> float:
        order = _order(name, value.get("phase"))
        cause = by_id.get(value.get("causation_id") or "")
        if depth > limit:
            return min(order, len(HOPS))
        if order < len(HOPS):
            if cause is None:
                return order
            return max(order, rank(*cause, depth=depth + 1) + AFTER_CAUSE)
        if cause is not None:
            return rank(*cause, depth=depth + 1) + 0.5
        at = _as_datetime(value["produced_at"])
        before = [(n, v) for n, v in pipeline if _as_datetime(v["produced_at"]) <= at]
        return max((rank(n, v, depth + 1) for n, v in before), default=-1) + 0.5

    return sorted(chain, key=lambda item: (rank(*item), _as_datetime(item[1]["produced_at"])))


def _concerns(name: str, value: dict[str, Any], initiative: str) -> bool:
    if name == "allocate_requested":
        return any(c["initiative_id"] == initiative for c in value.get("initiatives", []))
    if name == "allocate_completed":
        return True
    if name == "run_command":  # approve/reject: a decision on the whole portfolio
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
