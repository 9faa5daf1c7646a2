"""Per-hop latency of a run: each event's ``produced_at`` minus its cause's (``causation_id``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from impact_observe.lineage import HOPS

from bench.results import percentile

Event = tuple[str, dict[str, Any]]


def stamp_ms(value: Any) -> float:
    """``produced_at`` (datetime or epoch milliseconds) as epoch milliseconds."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp() * 1000
    return float(value)


def hop_name(event: str, value: dict[str, Any]) -> str:
    phase = value.get("phase")
    return f"{event}[{phase}]" if phase else event


def hop_samples(events: list[Event]) -> dict[str, list[float]]:
    """``"cause → effect"`` → milliseconds for every event whose cause is among ``events``."""
    by_id = {value["event_id"]: (name, value) for name, value in events}
    samples: dict[str, list[float]] = defaultdict(list)
    for name, value in events:
        cause = by_id.get(value.get("causation_id") or "")
        if cause is None:
            continue
        cause_name, cause_value = cause
        label = f"{hop_name(cause_name, cause_value)} → {hop_name(name, value)}"
        samples[label].append(stamp_ms(value["produced_at"]) - stamp_ms(cause_value["produced_at"]))
    return dict(samples)


def _pipeline_order(label: str) -> tuple[int, str]:
    effect = label.split(" → ")[1]
    for index, (event, phase) in enumerate(HOPS):
        if effect == (f"{event}[{phase}]" if phase else event):
            return index, label
    for index, (event, _) in enumerate(HOPS):
        if effect.startswith(event):
            return index, label
    return len(HOPS), label


def hop_summary(events: list[Event]) -> list[dict[str, Any]]:
    """One row per hop in pipeline order: count, p50, p99 and max in milliseconds."""
    rows = []
    for label, values in sorted(hop_samples(events).items(), key=lambda i: _pipeline_order(i[0])):
        rows.append(
            {
                "hop": label,
                "n": len(values),
                "p50_ms": round(percentile(values, 50), 1),
                "p99_ms": round(percentile(values, 99), 1),
                "max_ms": round(max(values), 1),
            }
        )
    return rows


def span_ms(events: list[Event]) -> float | None:
    """``run_completed`` minus ``manifest_submitted`` stamps (the run as the system saw it)."""
    stamps = {name: stamp_ms(value["produced_at"]) for name, value in events}
    if "manifest_submitted" not in stamps or "run_completed" not in stamps:
        return None
    return stamps["run_completed"] - stamps["manifest_submitted"]
