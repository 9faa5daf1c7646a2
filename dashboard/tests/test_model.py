"""The run page's rows from a hand-built run: every number and every verdict."""

from __future__ import annotations

from impact_dashboard.model import run_view
from impact_dashboard.runs import run_rows
from impact_observe.lineage import HOPS

from dashboard.tests import sample


def test_every_initiative_says_whether_it_was_selected_and_why() -> None:
    view = run_view(sample.RUN, sample.events())
    why = {r.initiative_id: r.why for r in view.portfolio}
    assert why == {
        "a": "selected",
        "b": "selected",
        "c": "design strength 0.300 below the minimum 0.5",
        "d": "costs 200, more than the whole budget 100",
        "e": "displaced by a better value per cost: b (0.08), a (0.167), against its 0.025; "
        "costs 40.00, 20.00 left",
        "f": "failed at measure",
    }
    kinds = {r.initiative_id: r.reason.kind for r in view.portfolio}
    assert kinds == {
        "a": "selected",
        "b": "selected",
        "c": "below_threshold",
        "d": "over_budget",
        "e": "displaced",
        "f": "failed",
    }
    assert [r.initiative_id for r in view.portfolio if r.selected] == ["a", "b"]


def test_portfolio_rows_carry_the_pilot_the_evaluation_and_the_budget() -> None:
    rows = {r.initiative_id: r for r in run_view(sample.RUN, sample.events()).portfolio}
    a = rows["a"]
    assert (a.effect, a.ci_lower, a.ci_upper, a.model_type) == (5.0, 3.0, 7.0, "experiment")
    assert (a.confidence, a.cost, a.budget_allocated) == (0.9, 30.0, 30.0)
    assert (a.predicted, a.lower, a.upper, a.probability_positive) == (5.0, 3.0, 7.0, None)
    assert a.value_per_cost == 5.0 / 30.0
    assert rows["c"].budget_allocated is None
    f = rows["f"]
    assert (f.effect, f.confidence, f.predicted, f.selected) == (None, None, None, False)


def test_portfolio_shows_what_allocate_decided_on_not_the_single_evaluation() -> None:
    """After the cohort step, ``allocate_requested`` carries the posterior mean, its
    quantiles and P(effect > 0) in the manifest's unit: the table shows those."""
    events = sample.events()
    for name, value in events:
        if name == "allocate_requested":
            for e in value["initiatives"]:
                if e["initiative_id"] == "a":
                    e.update(return_median=4.5, return_worst=2.5, return_best=6.5,
                             probability_positive=0.995, estimates="posterior")  # fmt: skip
    a = next(r for r in run_view(sample.RUN, events).portfolio if r.initiative_id == "a")
    assert (a.predicted, a.lower, a.upper, a.probability_positive) == (4.5, 2.5, 6.5, 0.995)
    assert a.effect == 5.0  # the pilot, in its own unit, is unchanged


def test_executive_summary_of_the_sample() -> None:
    executive = run_view(sample.RUN, sample.events()).executive
    assert executive is not None
    assert executive.headline() == (
        "2 of 6 initiatives selected; 80 of 100 allocated (80 %); expected value 9.00"
    )
    assert executive.points == [
        "Selected, by value per cost: a (0.167), b (0.08).",
        "Displaced by initiatives with a better value per cost (a, b): e.",
        "Costs more than the whole budget: d.",
        "Design strength below the minimum 0.5: c.",
        "Failed before evaluation: f.",
        "Actual 9.50 against predicted 9.00 (+0.50).",
    ]
    early = [e for e in sample.events() if e[0] != "allocate_completed"]
    assert run_view(sample.RUN, early).executive is None


def test_outcomes_have_both_intervals_and_the_errors() -> None:
    view = run_view(sample.RUN, sample.events())
    assert view.status == "completed" and view.finished
    assert [
        (
            o.initiative_id,
            o.budget,
            o.predicted,
            o.predicted_lower,
            o.predicted_upper,
            o.actual,
            o.actual_lower,
            o.actual_upper,
            o.error,
        )
        for o in view.outcomes
    ] == [
        ("a", 30.0, 5.0, 3.0, 7.0, 6.0, 5.0, 7.0, 1.0),
        ("b", 50.0, 4.0, 1.0, 6.0, 3.5, 3.0, 4.0, -0.5),
    ]
    assert view.allocated == 80.0 and view.budget_percent == 80.0


def test_stage_progress_is_the_latest_per_stage_in_pipeline_order() -> None:
    view = run_view(sample.RUN, sample.events())
    assert [(s.stage, s.completed, s.total, s.state, s.label) for s in view.stages] == [
        ("measure", 6, 6, "running", "done"),
        ("scale", 0, 2, "running", "stopped"),
        ("report", 2, 2, "completed", "completed"),
    ]
    running = run_view(sample.RUN, sample.events(finished=False))
    assert [(s.stage, s.label) for s in running.stages] == [
        ("measure", "done"),
        ("scale", "running"),
    ]


def test_a_run_in_flight_is_running_with_pending_verdicts_until_allocated() -> None:
    events = sample.events(finished=False)
    view = run_view(sample.RUN, events)
    assert (view.status, view.finished, view.outcomes) == ("running", False, [])
    before_allocation = [e for e in events if e[0] not in ("allocate_completed",)]
    early = run_view(sample.RUN, before_allocation)
    assert {r.why for r in early.portfolio if r.initiative_id != "f"} == {"pending"}
    assert run_view(sample.RUN, []).status == "waiting"


def test_the_report_is_final_only_with_the_last_status_too() -> None:
    events = sample.events()
    without_last_status = events[:-1]
    assert run_view(sample.RUN, without_last_status).finished is False
    assert run_view(sample.RUN, events).finished is True


def test_failures_name_stage_reason_and_error_type() -> None:
    for events in (sample.events(), sample.events(finished=False)):
        failures = run_view(sample.RUN, events).failures
        assert [(f.initiative_id, f.stage, f.reason, f.error_type) for f in failures] == [
            ("f", "measure", "ConfigError: column 'x' missing", "ConfigError")
        ]


def test_lineage_chains_follow_every_hop() -> None:
    chains = run_view(sample.RUN, sample.events()).chains
    # a was selected and scaled: every hop of the pipeline, in order
    assert [(h.event, h.phase) for h in chains["a"]] == list(HOPS)
    assert chains["a"][2].since_cause_ms is not None and chains["a"][2].since_cause_ms > 0


def test_runs_list_rows() -> None:
    running = [(n, {**v, "run_id": "run-2"}) for n, v in sample.events(finished=False)]
    rows = run_rows(sample.events() + running)
    assert [(r.run_id, r.status, r.budget, r.n_initiatives, r.n_failed) for r in rows] == [
        ("run-1", "completed", 100.0, 6, 1),
        ("run-2", "running", 100.0, 6, 1),
    ]
    current = rows[1].current
    assert current is not None and (current.stage, current.completed, current.total) == (
        "scale",
        0,
        2,
    )
