"""The fault suite's own arithmetic (no broker): lost/duplicated counting, stalls, poison
placement. A wrong count here would make every fault test vacuous."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.fault_runs import Committed, RunEvents
from tests.support.fault_watch import RunWatch
from tests.support.poison import alias_on_partition, partition_of

pytestmark = pytest.mark.faults

RECORD = Committed("t", 0, 0, b"r", b"", {})


def _events(*items: tuple[str, dict[str, Any]]) -> RunEvents:
    return RunEvents("r", [(name, value, RECORD) for name, value in items])


def _cmd(event: str, initiative: str, eid: str, phase: str = "pilot") -> tuple[str, dict[str, Any]]:
    return event, {"event_id": eid, "initiative_id": initiative, "phase": phase}


DONE = ("run_completed", {"event_id": "done", "summary": {"missing": []}})


def test_a_clean_run_has_nothing_lost_or_duplicated() -> None:
    events = _events(
        _cmd("measure_requested", "a", "1"),
        _cmd("measure_completed", "a", "2"),
        _cmd("evaluate_requested", "a", "3"),
        ("stage_failed", {"event_id": "4", "stage": "evaluate", "initiative_id": "a"}),
        ("allocate_requested", {"event_id": "5"}),
        ("allocate_completed", {"event_id": "6"}),
        DONE,
    )
    assert events.delivery() == (0, 0)


def test_unanswered_commands_and_a_missing_completion_are_lost() -> None:
    events = _events(_cmd("measure_requested", "a", "1"), _cmd("measure_requested", "b", "2"))
    assert events.delivery() == (3, 0)


def test_initiatives_a_deadline_dropped_are_not_lost() -> None:
    done = ("run_completed", {"event_id": "d", "summary": {"missing": ["b"]}})
    events = _events(
        _cmd("measure_requested", "a", "1"),
        _cmd("measure_completed", "a", "2"),
        _cmd("measure_requested", "b", "3"),
        done,
    )
    assert events.delivery() == (0, 0)


def test_distinct_copies_count_as_duplicates_and_forwarded_copies_do_not() -> None:
    events = _events(
        _cmd("measure_requested", "a", "1"),
        _cmd("measure_requested", "a", "1"),  # the same event, forwarded
        _cmd("measure_completed", "a", "2"),
        _cmd("measure_completed", "a", "3"),  # a second result
        ("stage_failed", {"event_id": "4", "stage": "measure", "initiative_id": "a"}),
        _cmd("measure_requested", "a", "5", phase="scale"),
        _cmd("measure_completed", "a", "6", phase="scale"),
        DONE,
        ("run_completed", {"event_id": "again", "summary": {}}),
    )
    assert events.delivery() == (0, 3)


def test_the_longest_stall_overlapping_a_window() -> None:
    watch = RunWatch("b", None, "p.", "r", started=0.0)  # type: ignore[arg-type]
    watch.points = [1.0, 2.0, 10.0, 11.0]
    watch.completed = [{}]
    assert watch.longest_stall() == 8.0
    assert watch.longest_stall(after=10.5) == 1.0
    assert watch.longest_stall(after=0.0, before=1.5) == 1.0


def test_a_poison_run_id_shares_the_run_partition() -> None:
    alias = alias_on_partition("poison-run", 6)
    assert alias.startswith("poison-run-poison-")
    assert partition_of(alias, 6) == partition_of("poison-run", 6)
    assert partition_of("x", 6) == partition_of("x", 6) < 6
