"""The portfolio table and the executive summary of a run page, from the run's events
(pure, no Kafka).

Values come from what allocate decided on: the evaluations in ``allocate_requested``
(after the cohort step: the posterior mean, its 2.5 %/97.5 % quantiles and P(effect > 0),
in the manifest's unit), else the single evaluations in ``evaluate_completed`` while the
run has not reached allocation. The reasons are :func:`impact_observe.reasons.reasons`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from impact_observe.executive import ExecutiveSummary, executive_summary
from impact_observe.reasons import Candidate, Reason, dropped_at_approval, reasons

Events = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class PortfolioRow:
    """One initiative: its pilot, what allocate saw of it, and the verdict with its cause.

    ``predicted`` is the posterior mean in the manifest's unit (the raw estimate with
    ``estimates: raw``); ``lower``/``upper`` its 95 % interval (posterior quantiles, or the
    pilot CI); ``confidence`` the design strength (not a probability)."""

    initiative_id: str
    model_type: str | None
    effect: float | None
    ci_lower: float | None
    ci_upper: float | None
    confidence: float | None
    cost: float | None
    predicted: float | None
    lower: float | None
    upper: float | None
    probability_positive: float | None
    budget_allocated: float | None
    selected: bool
    reason: Reason

    @property
    def why(self) -> str:
        return self.reason.text

    @property
    def value_per_cost(self) -> float | None:
        if self.predicted is None or not self.cost:
            return None
        return self.predicted / self.cost


def _first(by_name: Events, name: str) -> dict[str, Any] | None:
    values = by_name.get(name)
    return values[0] if values else None


def last_allocation(by_name: Events) -> dict[str, Any] | None:
    """The allocation the run went on with: an amendment's replaces the first."""
    values = by_name.get("allocate_completed")
    return values[-1] if values else None


def dropped(by_name: Events) -> dict[str, str]:
    """Initiatives dropped at the approval → ``WHO: NOTE``, from the decision's
    ``run_status`` (stage ``approval``) or the finished run's reason."""
    texts = [s.get("message") for s in by_name.get("run_status", []) if s["stage"] == "approval"]
    completed = _first(by_name, "run_completed")
    texts.append(((completed or {}).get("summary") or {}).get("reason"))
    return dropped_at_approval(texts)


def evaluations(by_name: Events) -> dict[str, dict[str, Any]]:
    """Per initiative, the evaluation allocate decided on: from ``allocate_requested``;
    without it (a run history written before it was kept), each ``evaluate_completed``
    with the report's predicted value and P(effect > 0) (the posterior's interval is then
    unknown); before the report, the single evaluations."""
    found = {e["initiative_id"]: e["result"] for e in by_name.get("evaluate_completed", [])}
    if asked := _first(by_name, "allocate_requested"):
        found.update({e["initiative_id"]: e for e in asked.get("initiatives", [])})
    elif completed := _first(by_name, "run_completed"):
        posterior = (completed.get("summary") or {}).get("estimates") == "posterior"
        for pilot in completed.get("pilots") or []:
            single = found.get(pilot["initiative_id"])
            if single is None or pilot.get("predicted_return") is None:
                continue
            found[pilot["initiative_id"]] = {
                **single,
                "return_median": pilot["predicted_return"],
                "probability_positive": pilot.get("probability_positive"),
                **({"return_worst": None, "return_best": None} if posterior else {}),
            }
    return found


def portfolio_rows(
    by_name: Events,
    *,
    budget: float | None,
    threshold: float,
    rule: str | None,
    failed: dict[str, str],
) -> list[PortfolioRow]:
    """Every initiative of the manifest (sorted by id) with its verdict and its cause;
    ``failed`` maps initiative id → the stage it failed at."""
    manifest = _first(by_name, "manifest_submitted")
    ids = {spec["initiative_id"] for spec in (manifest or {}).get("initiatives", [])}
    pilots = {
        m["initiative_id"]: m["result"]
        for m in by_name.get("measure_completed", [])
        if m["phase"] == "pilot"
    }
    evaluated = evaluations(by_name)
    allocation = last_allocation(by_name)
    result = allocation["result"] if allocation else None
    chosen = set(result["selected_initiatives"]) if result else set()
    budget = result.get("budget", budget) if result else budget
    candidates = [
        _candidate(i, evaluated.get(i), i in chosen, failed.get(i))
        for i in sorted(ids | set(pilots) | set(evaluated) | set(failed))
    ]
    why = reasons(
        candidates,
        budget=budget,
        threshold=threshold,
        rule=(result or {}).get("rule", rule),
        allocated=result is not None,
        dropped=dropped(by_name),
    )
    rows = []
    for c in candidates:
        pilot = pilots.get(c.initiative_id)
        rows.append(
            PortfolioRow(
                initiative_id=c.initiative_id,
                model_type=pilot["model_type"] if pilot else None,
                effect=pilot["effect_estimate"] if pilot else None,
                ci_lower=pilot["ci_lower"] if pilot else None,
                ci_upper=pilot["ci_upper"] if pilot else None,
                confidence=c.confidence,
                cost=c.cost,
                predicted=c.predicted,
                lower=c.lower,
                upper=c.upper,
                probability_positive=c.probability_positive,
                budget_allocated=result["budget_allocated"].get(c.initiative_id)
                if result
                else None,
                selected=c.selected,
                reason=why[c.initiative_id],
            )
        )
    return rows


def _candidate(
    initiative_id: str, evaluation: dict[str, Any] | None, selected: bool, failed: str | None
) -> Candidate:
    if evaluation is None:
        return Candidate(initiative_id, selected=selected, failed_stage=failed)
    return Candidate(
        initiative_id=initiative_id,
        cost=evaluation["cost"],
        predicted=evaluation["return_median"],
        lower=evaluation["return_worst"],
        upper=evaluation["return_best"],
        probability_positive=evaluation.get("probability_positive"),
        confidence=evaluation["confidence"],
        selected=selected,
        failed_stage=failed,
    )


def summary_of(
    rows: list[PortfolioRow],
    *,
    budget: float | None,
    status: str,
    summary: dict[str, Any] | None,
    threshold: float,
    n_initiatives: int,
) -> ExecutiveSummary | None:
    """The executive summary once allocation has decided (None before)."""
    if not any(r.reason.kind not in ("pending", "failed") for r in rows):
        return None
    candidates = [
        Candidate(
            r.initiative_id,
            r.cost,
            r.predicted,
            r.lower,
            r.upper,
            r.probability_positive,
            r.confidence,
            r.selected,
        )
        for r in rows
    ]
    return executive_summary(
        candidates,
        {r.initiative_id: r.reason for r in rows},
        budget=budget,
        status=status,
        summary=summary,
        threshold=threshold,
        n_initiatives=n_initiatives,
    )
