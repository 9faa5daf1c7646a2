"""Why-not reasons and the executive summary on hand-made portfolios, exact sentences."""

from __future__ import annotations

from impact_observe.executive import executive_summary
from impact_observe.reasons import (
    Candidate,
    candidates_from_completed,
    dropped_at_approval,
    reasons,
    rule_used,
)


def cohort() -> list[Candidate]:
    """Budget 100, min design strength 0.5; a (30) and b (50) selected, 20 left.

    c: design strength 0.3; d: costs 200; n: negative; e: fits nowhere, worse value per
    cost than a and b; g: best value per cost of all but costs 40; u: fits (cost 10) with
    an interval over 0; z: fits, sure positive, still not chosen; f: failed at measure."""
    return [
        Candidate("a", 30.0, 5.0, 3.0, 7.0, 0.99, 0.9, selected=True),
        Candidate("b", 50.0, 4.0, 1.0, 6.0, 0.98, 0.8, selected=True),
        Candidate("c", 10.0, 2.0, -1.0, 5.0, 0.8, 0.3),
        Candidate("d", 200.0, 9.0, 8.0, 10.0, 1.0, 0.95),
        Candidate("n", 5.0, -1.5, -4.0, 1.0, 0.21, 0.9),
        Candidate("e", 40.0, 1.0, 0.5, 1.5, 0.99, 0.7),
        Candidate("g", 40.0, 8.0, 6.0, 10.0, 1.0, 0.9),
        Candidate("u", 10.0, 0.5, -2.0, 3.0, 0.62, 0.9),
        Candidate("z", 10.0, 0.5, 0.2, 0.8, 0.99, 0.9),
        Candidate("f", failed_stage="measure"),
    ]


def test_each_cause_is_named_exactly() -> None:
    why = reasons(cohort(), budget=100.0, threshold=0.5, rule="minimax_regret")
    assert {i: r.text for i, r in why.items()} == {
        "a": "selected",
        "b": "selected",
        "c": "design strength 0.300 below the minimum 0.5",
        "d": "costs 200, more than the whole budget 100",
        "n": "negative effect: predicted -1.5 ≤ 0, P(effect > 0) = 0.21",
        "e": "displaced by a better value per cost: b (0.08), a (0.167), against its 0.025; "
        "costs 40.00, 20.00 left",
        "g": "not enough budget left: costs 40.00, 20.00 left",
        "u": "uncertain effect: 95 % interval [-2, 3] includes 0, P(effect > 0) = 0.62",
        "z": "not in the minimax-regret portfolio",
        "f": "failed at measure",
    }
    assert why["e"].kind == "displaced" and why["e"].by == ("b", "a")
    assert [why[i].kind for i in "gunz"] == [
        "no_budget_left",
        "uncertain",
        "negative",
        "not_chosen",
    ]


def test_uncertain_without_an_interval_reads_the_probability() -> None:
    why = reasons(
        [
            Candidate("x", 1.0, 2.0, probability_positive=0.9),
            Candidate("y", 1.0, 2.0, probability_positive=0.99),
        ],
        budget=10.0,
        rule="bayesian",
    )
    assert why["x"].text == "uncertain effect: P(effect > 0) = 0.90"
    assert why["y"].text == "not in the Bayesian portfolio"


def test_before_the_allocation_everything_evaluated_is_pending() -> None:
    why = reasons(cohort()[2:4], budget=100.0, threshold=0.5, allocated=False)
    assert {i: r.kind for i, r in why.items()} == {"c": "pending", "d": "pending"}


def test_executive_summary_counts_and_sentences() -> None:
    candidates = cohort()
    why = reasons(candidates, budget=100.0, threshold=0.5, rule="minimax_regret")
    summary = {
        "total_budget_allocated": 80.0,
        "n_selected": 2,
        "total_predicted_return": 9.0,
        "total_actual_return": 9.5,
        "total_prediction_error": 0.5,
        "predicted_total_lower": 4.0,
        "predicted_total_upper": 14.0,
        "n_inside_interval": 1,
        "n_with_interval": 2,
        "unit": "EUR",
    }
    s = executive_summary(
        candidates, why, budget=100.0, status="completed", summary=summary, threshold=0.5
    )
    assert (s.n_selected, s.n_initiatives, s.allocated, s.expected) == (2, 10, 80.0, 9.0)
    assert s.headline() == (
        "2 of 10 initiatives selected; 80 of 100 allocated (80 %); "
        "expected value 9.00 (95 % interval 4.00 to 14.00) EUR"
    )
    assert s.points == [
        "Selected, by value per cost: a (0.167), b (0.08).",
        "Displaced by initiatives with a better value per cost (a, b): e.",
        "Not enough budget left: g.",
        "Costs more than the whole budget: d.",
        "Negative predicted effect: n.",
        "Uncertain effect (its 95 % interval includes 0): u.",
        "Design strength below the minimum 0.5: c.",
        "Not in the optimal portfolio: z.",
        "Failed before evaluation: f.",
        "Actual 9.50 against predicted 9.00 (+0.50); 1 of 2 actuals inside their 95 % "
        "prediction interval.",
    ]


def test_candidates_from_a_run_completed_payload_and_its_manifest() -> None:
    completed = {
        "status": "completed",
        "reports": [{"initiative_id": "a", "budget_allocated": 30.0}],
        "failures": [{"initiative_id": "f", "stage": "measure", "reason": "x"}],
        "summary": {"estimates": "posterior"},
        "pilots": [
            {"initiative_id": "a", "effect_estimate": 4.0, "ci_lower": 1.0, "ci_upper": 7.0,
             "confidence_score": 0.9, "selected": True, "predicted_return": 3.5,
             "probability_positive": 0.99},
            {"initiative_id": "b", "effect_estimate": 2.0, "ci_lower": -1.0, "ci_upper": 5.0,
             "confidence_score": 0.8, "selected": False, "predicted_return": 1.2,
             "probability_positive": 0.7},
        ],
    }  # fmt: skip
    manifest = {
        "initiatives": [
            {"initiative_id": i, "cost_to_scale": c} for i, c in (("a", 30), ("b", 10), ("f", 5))
        ]
    }
    got = candidates_from_completed(completed, manifest)
    assert got == [
        Candidate("a", 30.0, 3.5, None, None, 0.99, 0.9, True, None),
        Candidate("b", 10.0, 1.2, None, None, 0.7, 0.8, False, None),
        Candidate("f", failed_stage="measure"),
    ]
    why = reasons(got, budget=100.0)
    assert why["b"].text == "uncertain effect: P(effect > 0) = 0.70"


def test_the_terminal_report_opens_with_the_summary_and_says_why_not() -> None:
    from impact_cli.render import report_tables
    from rich.console import Console

    pilot = {"model_type": "experiment", "ci_lower": 1.0, "ci_upper": 9.0, "p_value": 0.01,
             "sample_size": 300, "confidence_score": 0.9, "probability_positive": 0.99}  # fmt: skip
    completed = {
        "status": "completed",
        "reports": [],
        "failures": [],
        "cached": {},
        "pilots": [
            {
                **pilot,
                "initiative_id": "a",
                "effect_estimate": 5.0,
                "predicted_return": 5.0,
                "selected": True,
            },
            {
                **pilot,
                "initiative_id": "b",
                "effect_estimate": 2.0,
                "predicted_return": 2.0,
                "selected": False,
            },
        ],
        "summary": {
            "budget": 100.0,
            "n_initiatives": 2,
            "n_evaluated": 2,
            "n_selected": 1,
            "n_failed": 0,
            "total_budget_allocated": 60.0,
            "total_predicted_return": 0.0,
            "total_actual_return": 0.0,
            "total_prediction_error": 0.0,
            "estimates": "posterior",
        },
    }
    manifest = {
        "budget": 100.0,
        "allocate": {"component": "Allocate", "kwargs": {"rule": "bayesian"}},
        "initiatives": [
            {"initiative_id": "a", "cost_to_scale": 60.0},
            {"initiative_id": "b", "cost_to_scale": 50.0},
        ],
    }
    console = Console(width=250, record=True)
    console.print(report_tables(completed, manifest))
    text = console.export_text()
    assert text.index("Executive summary") < text.index("Outcome report")
    assert "1 of 2 initiatives selected; 60 of 100 allocated (60 %); expected value 5.00" in text
    assert "no — displaced by a better value per cost: a (0.0833), against its 0.04; " in text
    assert "costs 50.00, 40.00 left" in text


def test_an_initiative_dropped_at_approval_says_by_whom_and_why() -> None:
    status = "amended by ana: too risky; this quarter; dropped e, g"
    dropped = dropped_at_approval([None, "approved by bo", status])
    assert dropped == {"e": "ana: too risky; this quarter", "g": "ana: too risky; this quarter"}
    why = reasons(cohort(), budget=100.0, threshold=0.5, rule="minimax_regret", dropped=dropped)
    assert why["e"].text == "dropped at approval (by ana: too risky; this quarter)"
    assert why["g"].kind == "dropped"
    assert why["a"].text == "selected"  # only an unselected initiative reads as dropped
    reason = "approved by bo; amended by ana; dropped u; pilot-only run: not scaled"
    assert dropped_at_approval([reason]) == {"u": "ana"}


def test_the_last_cause_names_the_rule_the_allocation_used() -> None:
    z = [Candidate("z", 10.0, 0.5, 0.2, 0.8, 0.99, 0.9)]
    assert reasons(z, budget=100.0, rule="bayesian")["z"].text == "not in the Bayesian portfolio"
    minimax = reasons(z, budget=100.0, rule="minimax_regret")["z"].text
    assert minimax == "not in the minimax-regret portfolio"


def test_an_auto_rule_is_named_by_the_estimates_it_ran_on() -> None:
    assert rule_used("auto", "posterior") == "bayesian"
    assert rule_used("auto", "raw") == "minimax_regret"
    assert rule_used("minimax_regret", "posterior") == "minimax_regret"
