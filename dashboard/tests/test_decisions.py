"""The approval form on a run page: shown while the run awaits approval, with one ticked
box per selected initiative, and gone once the run is decided."""

from __future__ import annotations

import re
from typing import Any

from impact_dashboard import pages
from impact_dashboard.decisions import awaiting_approval
from impact_dashboard.model import run_view

from dashboard.tests import sample


def with_approval(message: str) -> list[tuple[str, dict[str, Any]]]:
    """The sample run stopped after its allocation, with an ``approval`` status."""
    events = [e for e in sample.events(finished=False) if e[1].get("stage") != "scale"]
    status = {"stage": "approval", "completed": 0, "total": 1, "state": "running"}
    events.append(("run_status", {**events[-1][1], **status, "message": message}))
    return events


def test_a_run_awaiting_approval_shows_the_form_with_its_portfolio() -> None:
    view = run_view(sample.RUN, with_approval("awaiting approval: 2 selected; impact approve"))
    assert awaiting_approval(view)
    page = pages.run_page(view)
    assert re.findall(r'name="keep" value="([^"]+)" checked', page) == ["a", "b"]
    assert f'action="{sample.RUN}/approve"' in page and f'action="{sample.RUN}/reject"' in page


def test_a_decided_or_finished_run_has_no_form() -> None:
    decided = run_view(sample.RUN, with_approval("amended by alice; dropped b"))
    assert not awaiting_approval(decided)
    assert 'name="keep"' not in pages.run_page(decided)
    refused = run_view(sample.RUN, with_approval("approve refused: drop: not in the portfolio: z"))
    assert awaiting_approval(refused)
    assert not awaiting_approval(run_view(sample.RUN, sample.events()))


def test_an_amended_portfolio_shows_the_amendment_and_why_the_dropped_one_is_out() -> None:
    events = with_approval("amended by alice: pilot too small; dropped b")
    first = next(v for name, v in events if name == "allocate_completed")
    amended = {
        **first["result"],
        "selected_initiatives": ["a"],
        "budget_allocated": {"a": 30.0},
        "predicted_returns": {"a": 5.0},
        "rule": "bayesian",
    }
    events.append(("allocate_completed", {**first, "result": amended}))
    view = run_view(sample.RUN, events)
    rows = {row.initiative_id: row for row in view.portfolio}
    assert rows["a"].selected and not rows["b"].selected
    assert rows["b"].reason.text == "dropped at approval (by alice: pilot too small)"
    assert view.rule == "bayesian" and view.allocated == 30.0
