"""``impact compare``'s diff (pure) against hand-computed values, and ``--budgets`` parsing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from impact_cli.compare import RunNotComparable, as_dict, compare_runs, digest
from impact_cli.history import parse_budgets


def pilot(initiative: str, predicted: float, selected: bool) -> dict[str, Any]:
    return {"initiative_id": initiative, "predicted_return": predicted, "selected": selected}


def report(initiative: str, allocated: float, predicted: float, lo: float, hi: float) -> dict:
    return {
        "initiative_id": initiative,
        "budget_allocated": allocated,
        "predicted_return": predicted,
        "prediction_lower": lo,
        "prediction_upper": hi,
    }


def run_events(
    run_id: str, budget: float, name: str | None, pilots: list[dict], reports: list[dict]
) -> list[tuple[str, dict[str, Any]]]:
    allocated = sum(r["budget_allocated"] for r in reports)
    predicted = sum(r["predicted_return"] for r in reports)
    summary = {
        "budget": budget,
        "total_budget_allocated": allocated,
        "total_predicted_return": predicted,
        "predicted_total_lower": predicted - 1.0,
        "predicted_total_upper": predicted + 1.0,
        "unit": "EUR",
    }
    manifest = {"run_id": run_id, "budget": budget, "initiatives": [], "name": name}
    completed = {
        "run_id": run_id,
        "status": "completed",
        "reports": reports,
        "pilots": pilots,
        "summary": summary,
    }
    return [("manifest_submitted", manifest), ("run_completed", completed)]


#: A: 100,000 on a (40,000) and b (50,000); c evaluated, not selected.
RUN_A = run_events(
    "run-a",
    100_000.0,
    "Q4 at 100k",
    [pilot("a", 12.0, True), pilot("b", 8.0, True), pilot("c", 3.0, False)],
    [report("a", 40_000.0, 12.0, 9.0, 15.0), report("b", 50_000.0, 8.0, 5.0, 11.0)],
)
#: B: 60,000; b dropped, c added (20,000); a's estimate moved to 11.5; d new, not selected.
RUN_B = run_events(
    "run-b",
    60_000.0,
    None,
    [pilot("a", 11.5, True), pilot("b", 8.0, False), pilot("c", 3.5, True), pilot("d", 1.0, False)],
    [report("a", 40_000.0, 11.5, 9.5, 13.5), report("c", 20_000.0, 3.5, 1.0, 6.0)],
)


def test_budget_selections_and_estimates_against_hand_computed_values() -> None:
    comparison = compare_runs(digest("run-a", RUN_A), digest("run-b", RUN_B))
    assert comparison.a.label == "Q4 at 100k (run-a)"
    assert comparison.b.label == "run-b"
    assert comparison.budget_change == 60_000 - 100_000
    assert comparison.allocated_change == (40_000 + 20_000) - (40_000 + 50_000)
    assert comparison.predicted_change == pytest.approx((11.5 + 3.5) - (12.0 + 8.0))
    assert comparison.ids("added") == ["c"]
    assert comparison.ids("removed") == ["b"]
    assert comparison.ids("kept") == ["a"]
    assert comparison.ids("only in B") == ["d"]
    by_id = {c.initiative_id: c for c in comparison.changes}
    assert by_id["a"].predicted_change == pytest.approx(-0.5)
    assert by_id["a"].allocated_change == 0.0
    assert (by_id["a"].before.lower, by_id["a"].after.upper) == (9.0, 13.5)  # type: ignore[union-attr]
    assert by_id["b"].allocated_change == -50_000.0
    assert by_id["c"].allocated_change == 20_000.0
    assert by_id["c"].predicted_change == pytest.approx(0.5)
    # an unselected initiative has no prediction interval and nothing allocated
    assert (by_id["c"].before.lower, by_id["c"].before.allocated) == (None, 0.0)  # type: ignore[union-attr]
    assert by_id["d"].predicted_change is None
    assert by_id["d"].allocated_change == 0.0


def test_the_json_form_carries_the_same_numbers() -> None:
    data = as_dict(compare_runs(digest("run-a", RUN_A), digest("run-b", RUN_B)))
    assert (data["budget_change"], data["added"], data["removed"]) == (-40_000.0, ["c"], ["b"])
    assert data["a"]["selected"] == ["a", "b"] and data["b"]["selected"] == ["a", "c"]
    assert data["a"]["predicted_lower"] == 19.0
    assert [row["selection"] for row in data["initiatives"]] == [
        "kept",
        "removed",
        "added",
        "only in B",
    ]


def test_a_run_with_no_events_or_no_report_cannot_be_compared() -> None:
    with pytest.raises(RunNotComparable, match="unknown run x: no events found"):
        digest("x", [])
    with pytest.raises(RunNotComparable, match="run run-a has not completed"):
        digest("run-a", RUN_A[:1])


@pytest.mark.parametrize(
    ("text", "budgets"),
    [
        ("50000,75000,100000", [50_000.0, 75_000.0, 100_000.0]),
        ("50000:100000:25000", [50_000.0, 75_000.0, 100_000.0]),
        ("60000:100000:25000", [60_000.0, 85_000.0]),
        ("100000, 50000:60000:10000,50000", [50_000.0, 60_000.0, 100_000.0]),
    ],
)
def test_budgets_are_lists_and_ranges(text: str, budgets: list[float]) -> None:
    assert parse_budgets(text) == budgets


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("50k", "'50k' is not a number or START:STOP:STEP"),
        ("100:50:10", "a range is START:STOP:STEP with START <= STOP, STEP > 0"),
        ("0,10", "every budget must be above 0"),
        ("1:1000:1", "'1:1000:1' gives 1000 budgets, more than 200"),
    ],
)
def test_bad_budgets_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_budgets(text)
