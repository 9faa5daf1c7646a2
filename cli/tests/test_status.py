"""``impact status``: the lifecycle line from a run's events (pure)."""

from __future__ import annotations

from typing import Any

from impact_cli.status_command import lifecycle_state


def status(stage: str, message: str) -> tuple[str, dict[str, Any]]:
    return ("run_status", {"stage": stage, "completed": 0, "total": 1, "message": message})


ASKED = status(
    "approval",
    "awaiting approval: 3 selected; scale data needed for: c, d; impact approve r [--drop ID]",
)


def test_awaiting_approval_names_the_initiatives_without_scale_data() -> None:
    assert lifecycle_state([status("measure", "[3/3] measure"), ASKED]) == (
        "awaiting approval (scale data needed for: c, d)"
    )
    refused = status("approval", "approve refused: drop: not in the portfolio: z")
    assert lifecycle_state([ASKED, refused]).startswith("awaiting approval")


def test_awaiting_scale_data_lists_what_is_still_missing() -> None:
    events = [
        ASKED,
        status("approval", "approved by ana"),
        status("scale", "awaiting scale data for: c, d"),
    ]
    assert lifecycle_state(events) == "awaiting scale data: c, d"
    given = ("run_command", {"action": "scale", "initiative_id": "c"})
    assert lifecycle_state([*events, given]) == "awaiting scale data: d"
    measured = ("measure_completed", {"initiative_id": "d", "phase": "scale"})
    assert lifecycle_state([*events, given, measured]) == "running"


def test_a_finished_run_is_completed_failed_or_rejected() -> None:
    rejected = {"status": "completed", "summary": {"reason": "rejected by bo: not now"}}
    assert lifecycle_state([ASKED, ("run_completed", rejected)]) == "rejected"
    failed = {"status": "failed", "summary": {"reason": "approval deadline passed"}}
    assert lifecycle_state([ASKED, ("run_completed", failed)]) == "failed"
    assert lifecycle_state([status("measure", "[1/3] measure")]) == "running"
