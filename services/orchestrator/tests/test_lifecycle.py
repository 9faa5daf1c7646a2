"""The run lifecycle on the pure state machine (the store and changelog the service uses):
approval, amendment, rejection, scale data given later, deadlines in days with a clock
the test sets, and restores from the changelog at every step."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from impact_orchestrator.changelog_restore import restore_runs
from impact_orchestrator.lifecycle import DAY_S
from impact_orchestrator.run_state import RunState
from impact_orchestrator.store import RunStore

from services.orchestrator.tests.events import (
    RUN_ID,
    allocated,
    evaluated,
    manifest_payload,
    measured,
)
from services.orchestrator.tests.test_changelog import Changelog

COSTS = {"a": 10.0, "b": 20.0, "c": 25.0}
PILOT = {"a": 2.0, "b": 1.0, "c": 3.0}
CSV = {
    "DATA": {"SOURCE": {"type": "file", "CONFIG": {"path": "/data/pilot.csv"}}},
    "MEASUREMENT": {"MODEL": "experiment", "PARAMS": {"outcome_column": "y"}},
}
SCALE_DATA = {"DATA": {"SOURCE": {"type": "file", "CONFIG": {"path": "/data/scale.csv"}}}}


class Run:
    """One run driven through a store, its changelog committed after every event."""

    def __init__(self, **manifest: Any) -> None:
        self.manifest = {**manifest_payload(COSTS), **manifest}
        self.store, self.changelog = RunStore(), Changelog()
        self.out: list[tuple[str, dict[str, Any]]] = []
        self.send("manifest_submitted", self.manifest)

    def send(self, event: str, payload: dict[str, Any], now: float = 0.0) -> None:
        value = {"run_id": RUN_ID, "event_id": str(uuid.uuid4()), **payload}
        change = self.store.handle(event, value, 0, now)
        self._take(change)

    def command(self, action: str, now: float = 0.0, **fields: Any) -> None:
        at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
        self.send(
            "run_command", {"action": action, "actor": "alice", "produced_at": at, **fields}, now
        )

    def tick(self, now: float) -> None:
        for change in self.store.tick(now):
            self._take(change)

    def _take(self, change: Any) -> None:
        if change is None:
            return
        state, commands = change
        self.changelog.stage(self.store, state)
        self.changelog.commit(self.store)
        self.out.extend((c.event, c.payload) for c in commands)

    @property
    def state(self) -> RunState:
        return self.store.states[RUN_ID]

    def restored(self) -> RunState:
        return self.changelog.restored()[RUN_ID]

    def sent(self, event: str) -> list[dict[str, Any]]:
        found = [p for e, p in self.out if e == event]
        self.out.clear()
        return found

    def pilots(self, ids: str = "abc") -> None:
        for i in ids:
            self.send("measure_completed", measured(i, PILOT[i]))
            self.send("evaluate_completed", evaluated(i, PILOT[i], COSTS[i]))

    def allocate(self, chosen: dict[str, float]) -> None:
        self.send("allocate_completed", allocated(35.0, chosen, PILOT))


def messages(payloads: list[dict[str, Any]]) -> list[str]:
    return [str(p["message"]) for p in payloads]


def test_a_run_waits_for_approval_and_an_amendment_reallocates_without_the_dropped() -> None:
    run = Run(approval="required")
    run.pilots()
    sent = run.sent("allocate_requested")
    assert [e["initiative_id"] for e in sent[0]["initiatives"]] == ["a", "b", "c"]
    run.allocate({"a": 10.0, "b": 20.0})
    assert run.state.stage == "approval" and run.state.lifecycle == "awaiting approval"
    assert [p for p in run.sent("measure_requested") if p["phase"] == "scale"] == []
    assert run.restored() == run.state
    run.command("approve", drop=["b"], note="b is too risky")
    assert run.state.verdict == "amended" and run.state.lifecycle == "amended"
    again = run.sent("allocate_requested")
    assert [e["initiative_id"] for e in again[0]["initiatives"]] == ["a", "c"]
    assert again[0]["budget"] == 35.0
    run.allocate({"a": 10.0, "b": 20.0})  # the first allocation again: stale, ignored
    assert run.state.stage == "allocate" and run.state.seen.ignored == {"late": 1}
    run.allocate({"a": 10.0, "c": 25.0})  # the amendment's allocation is not a duplicate
    scale = run.sent("measure_requested")
    assert sorted((p["initiative_id"], p["phase"]) for p in scale) == [
        ("a", "scale"),
        ("c", "scale"),
    ]
    decision = run.restored().decisions[0]
    assert decision.actor == "alice" and decision.drop == ["b"]
    assert decision.note == "b is too risky" and decision.selected == ["a", "b"]
    assert decision.sent_at == "2026-12-07T12:00:00+00:00" and decision.refused is None
    run.send("measure_completed", measured("a", 1.5, "scale"))
    run.send("measure_completed", measured("c", 2.5, "scale"))
    result = run.state.result
    assert result is not None and result["status"] == "completed"
    assert sorted(r["initiative_id"] for r in result["reports"]) == ["a", "c"]
    assert "amended by alice: b is too risky; dropped b" in result["summary"]["reason"]
    assert run.restored() == run.state


def test_a_rejected_run_ends_with_nothing_committed() -> None:
    run = Run(approval="required")
    run.pilots()
    run.allocate({"a": 10.0, "c": 25.0})
    run.command("reject", note="not this quarter")
    state = run.state
    assert state.done and state.lifecycle == "rejected" and state.allocation is None
    assert state.result is not None and state.result["reports"] == []
    assert state.result["summary"]["reason"] == "rejected by alice: not this quarter"
    assert state.decisions[0].selected == ["a", "c"]
    assert [p for p in run.sent("measure_requested") if p["phase"] == "scale"] == []
    assert run.restored() == state


def test_a_command_the_run_cannot_take_is_refused_and_recorded() -> None:
    run = Run(approval="required")
    run.pilots("ab")
    run.command("approve")  # still measuring c
    assert messages(run.sent("run_status"))[-1] == (
        "approve refused: the run is measuring, not awaiting approval"
    )
    run.pilots("c")
    run.allocate({"a": 10.0})
    run.command("approve", drop=["zz"])
    assert messages(run.sent("run_status"))[-1] == "approve refused: drop: not in the portfolio: zz"
    assert run.state.stage == "approval"
    assert [d.refused is not None for d in run.restored().decisions] == [True, True]


def test_a_duplicate_command_is_applied_once() -> None:
    run = Run(approval="required")
    run.pilots()
    run.allocate({"a": 10.0})
    value = {"run_id": RUN_ID, "event_id": "same", "action": "approve", "actor": "bob"}
    assert run.store.handle("run_command", value, 0, 0.0) is not None
    change = run.store.handle("run_command", dict(value), 0, 0.0)
    assert change is not None and change[1] == []
    assert len(run.state.decisions) == 1


def test_a_straight_through_run_never_gives_budget_to_an_initiative_without_scale_data() -> None:
    manifest = manifest_payload(COSTS)
    manifest["initiatives"][1]["measure_config"] = CSV  # b: a CSV pilot, no SCALE section
    run = Run(initiatives=manifest["initiatives"])
    run.pilots()
    sent = run.sent("allocate_requested")
    assert [e["initiative_id"] for e in sent[0]["initiatives"]] == ["a", "c"]
    (failure,) = run.state.failures
    assert failure.initiative_id == "b" and failure.stage == "scale"
    assert failure.reason.startswith("no scale data: a 'file' source cannot draw a scale")
    assert run.restored() == run.state


def test_scale_data_given_later_runs_the_scale_measurement_with_it() -> None:
    manifest = manifest_payload(COSTS)
    manifest["initiatives"][1]["measure_config"] = CSV
    run = Run(initiatives=manifest["initiatives"], approval="required", scale_days=30)
    run.pilots()
    run.allocate({"a": 10.0, "b": 20.0})
    assert "scale data needed for: b" in messages(run.sent("run_status"))[-1]
    run.command("approve", now=5.0)
    (scale,) = run.sent("measure_requested")
    assert scale["initiative_id"] == "a"
    assert run.state.lifecycle == "awaiting scale data"
    assert run.state.due == 5.0 + 30 * DAY_S
    run.send("measure_completed", measured("a", 1.5, "scale"))
    assert not run.state.done
    run.command("scale", now=6.0, initiative_id="b", measure_config=SCALE_DATA)
    (later,) = run.sent("measure_requested")
    assert later["measure_config"] == {**CSV, "SCALE": SCALE_DATA}
    assert run.restored() == run.state
    run.command("scale", now=7.0, initiative_id="b", measure_config=SCALE_DATA)
    assert messages(run.sent("run_status")) == ["scale refused: 'b' already has scale data"]
    run.send("measure_completed", measured("b", 0.5, "scale"))
    assert run.state.result is not None
    assert sorted(r["initiative_id"] for r in run.state.result["reports"]) == ["a", "b"]


def test_the_approval_deadline_in_days_finalises_the_run_by_its_policy() -> None:
    run = Run(approval="required", approval_days=2)
    run.pilots()
    run.send("allocate_completed", allocated(35.0, {"a": 10.0}, PILOT), now=100.0)
    assert run.state.due == 100.0 + 2 * DAY_S
    run.tick(100.0 + 2 * DAY_S - 1)
    assert not run.state.done
    run.tick(100.0 + 2 * DAY_S)
    result = run.state.result
    assert result is not None and result["status"] == "completed"
    assert result["summary"]["reason"] == (
        "approval deadline (2 days) passed without a decision; nothing scaled"
    )
    assert [p for p in run.sent("measure_requested") if p["phase"] == "scale"] == []

    failing = Run(approval="required", approval_days=1, deadline_policy="fail")
    failing.pilots()
    failing.allocate({"a": 10.0})
    failing.tick(DAY_S)
    assert failing.state.result is not None and failing.state.status == "failed"


def test_the_scale_deadline_in_days_reports_what_arrived() -> None:
    manifest = manifest_payload(COSTS)
    for spec in manifest["initiatives"]:
        spec["measure_config"] = CSV
    run = Run(initiatives=manifest["initiatives"], approval="required", scale_days=7)
    run.pilots()
    run.allocate({"a": 10.0, "c": 25.0})
    run.command("approve", now=10.0)
    run.command("scale", now=11.0, initiative_id="a", measure_config=SCALE_DATA)
    run.send("measure_completed", measured("a", 1.5, "scale"))
    restored = run.restored()
    run.store.restore(0, {RUN_ID: restored})  # a restart while it waits
    run.tick(10.0 + 7 * DAY_S - 1)
    assert not run.state.done
    run.tick(10.0 + 7 * DAY_S)
    result = run.state.result
    assert result is not None and result["status"] == "completed"
    assert result["summary"]["missing"] == ["c"]
    assert [r["initiative_id"] for r in result["reports"]] == ["a"]
    assert "scale deadline (7 days) passed; missing: c" in result["summary"]["reason"]


def test_a_pilot_only_run_ends_at_its_allocation() -> None:
    run = Run(pilot_only=True)
    run.pilots()
    run.allocate({"a": 10.0, "c": 25.0})
    result = run.state.result
    assert result is not None and result["summary"]["reason"] == "pilot-only run: not scaled"
    assert result["summary"]["n_selected"] == 2
    assert [p for p in run.sent("measure_requested") if p["phase"] == "scale"] == []


def test_an_approved_pilot_only_run_ends_at_the_approval() -> None:
    run = Run(pilot_only=True, approval="required")
    run.pilots()
    run.allocate({"a": 10.0})
    assert run.state.stage == "approval"
    run.command("approve", note="go")
    assert run.state.result is not None
    assert (
        run.state.result["summary"]["reason"] == "approved by alice: go; pilot-only run: not scaled"
    )


def test_a_run_written_before_the_lifecycle_existed_restores() -> None:
    """Changelog records of the format before the lifecycle: a header without verdict or
    due, no lifecycle record, a manifest without the lifecycle keys."""
    manifest = manifest_payload({"a": 10.0})
    header = {
        "run_id": RUN_ID,
        "part": ["header"],
        "format": 2,
        "started_at": 0.0,
        "stage": "pilot",
        "status": "running",
        "reason": None,
        "deadline": {"seconds": None, "policy": "proceed", "at": None},
        "ignored": {},
    }
    records = {
        "run_id": RUN_ID,
        "part": ["manifest"],
        "manifest": manifest,
        "measured": ["a"],
        "evaluated": ["a"],
    }
    values = [json.dumps(header).encode(), json.dumps(records).encode()]
    state = restore_runs(values).states[RUN_ID]
    assert state.verdict is None and state.due is None and state.decisions == []
    assert state.scale_configs == {} and state.lifecycle == "measuring"
    store = RunStore()
    store.restore(0, {RUN_ID: state})
    value = {"run_id": RUN_ID, "event_id": "e", **measured("a", 2.0)}
    change = store.handle("measure_completed", value, 0, 0.0)
    assert change is not None and change[1][0].event == "evaluate_requested"
