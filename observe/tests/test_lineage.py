"""Lineage links a run's events by causation id, per initiative, in pipeline order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from impact_observe.lineage import lineage
from impact_observe.stages import HOPS

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(event_id: str, cause: str | None, ms: int, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "causation_id": cause,
        "produced_at": T0 + timedelta(milliseconds=ms),
        **fields,
    }


def run_events() -> list[tuple[str, dict[str, Any]]]:
    candidates = [{"initiative_id": "a"}, {"initiative_id": "b"}]
    return [
        ("manifest_submitted", event("m", None, 0)),
        ("measure_requested", event("mr-a", "m", 5, initiative_id="a", phase="pilot")),
        ("measure_requested", event("mr-b", "m", 6, initiative_id="b", phase="pilot")),
        ("measure_completed", event("mc-a", "mr-a", 105, initiative_id="a", phase="pilot")),
        ("measure_completed", event("mc-b", "mr-b", 206, initiative_id="b", phase="pilot")),
        ("evaluate_requested", event("er-a", "mc-a", 110, initiative_id="a")),
        ("evaluate_requested", event("er-b", "mc-b", 210, initiative_id="b")),
        ("evaluate_completed", event("ec-a", "er-a", 120, initiative_id="a")),
        ("evaluate_completed", event("ec-b", "er-b", 230, initiative_id="b")),
        ("allocate_requested", event("ar", "ec-b", 240, initiatives=candidates)),
        ("allocate_completed", event("ac", "ar", 300)),
        ("measure_requested", event("sr-a", "ac", 305, initiative_id="a", phase="scale")),
        ("measure_completed", event("sc-a", "sr-a", 905, initiative_id="a", phase="scale")),
        ("run_status", event("st", "sc-a", 906, stage="scale")),
        ("run_completed", event("rc", "sc-a", 910)),
    ]


def test_each_initiative_gets_its_chain_in_pipeline_order() -> None:
    chains = lineage(run_events())
    assert list(chains) == ["a", "b"]
    assert [(h.event, h.phase) for h in chains["a"]] == list(HOPS)
    assert HOPS[0] == ("manifest_submitted", None) and HOPS[-1] == ("run_completed", None)
    # b was not selected: its chain has no scale hops.
    assert [h.event for h in chains["b"]][-3:] == [
        "allocate_requested",
        "allocate_completed",
        "run_completed",
    ]


def test_hop_time_is_measured_from_the_causing_event() -> None:
    hops = {(h.event, h.phase): h.since_cause_ms for h in lineage(run_events())["a"]}
    assert hops[("manifest_submitted", None)] is None
    assert hops[("measure_completed", "pilot")] == 100.0
    assert hops[("allocate_requested", None)] == 10.0  # caused by b's evaluation (the last)
    assert hops[("measure_completed", "scale")] == 600.0
    assert hops[("run_completed", None)] == 5.0


def test_a_failure_sits_after_its_cause_not_after_the_report() -> None:
    """c failed at measure: its ``stage_failed`` comes right after the ``measure_requested``
    that caused it, before the allocation and the report (not last, as an event outside the
    pipeline would sort); a failure whose cause is not in the chain goes by its time."""
    events = [
        *run_events(),
        ("measure_requested", event("mr-c", "m", 7, initiative_id="c", phase="pilot")),
        ("stage_failed", event("sf-c", "mr-c", 50, initiative_id="c", stage="measure")),
        ("stage_failed", event("sf-a", "elsewhere", 907, initiative_id="a", stage="scale")),
    ]
    chains = lineage(events)
    assert [h.event for h in chains["c"]] == [
        "manifest_submitted",
        "measure_requested",
        "stage_failed",
        "allocate_completed",
        "run_completed",
    ]
    assert [h.event for h in chains["a"]][-3:] == [
        "measure_completed",
        "stage_failed",
        "run_completed",
    ]
    assert chains["c"][2].since_cause_ms == 43.0


def test_an_approval_and_its_amendment_sit_in_their_causal_place() -> None:
    """An amendment: the ``run_command`` comes after the first allocation, and the second
    allocation it asked for comes after it, before the scale phase; a scale command given
    later sits before the scale measurement it caused."""
    events = [
        *run_events()[:11],  # up to the first allocate_completed
        ("run_command", event("cmd", None, 400, action="approve", drop=["b"])),
        ("allocate_requested", event("ar2", "cmd", 401, initiatives=[{"initiative_id": "a"}])),
        ("allocate_completed", event("ac2", "ar2", 450)),
        ("run_command", event("sd-a", None, 500, action="scale", initiative_id="a")),
        ("measure_requested", event("sr-a", "sd-a", 501, initiative_id="a", phase="scale")),
        ("measure_completed", event("sc-a", "sr-a", 905, initiative_id="a", phase="scale")),
        ("run_completed", event("rc", "sc-a", 910)),
    ]
    chains = lineage(events)
    assert [h.event_id for h in chains["a"]][5:] == [
        "ar",
        "ac",
        "cmd",
        "ar2",
        "ac2",
        "sd-a",
        "sr-a",
        "sc-a",
        "rc",
    ]
    assert [h.event_id for h in chains["b"]][-5:] == ["ar", "ac", "cmd", "ac2", "rc"]
