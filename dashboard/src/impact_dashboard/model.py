"""A run as the dashboard shows it, built from the run's decoded events (pure, no Kafka).

``run_view(events, dead_letters)`` takes the ``(event name, value)`` pairs of one run, as
``impact_cli.bus.Bus.read_run`` / ``follow`` yield them, in any order, and returns plain
rows: stage progress, the portfolio with why each initiative was or was not selected,
predicted vs actual with both intervals, lineage and failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from impact_cli.lineage import Hop, lineage

#: Stages in the order the orchestrator reports them (``run_status.stage``).
STAGES = ("measure", "evaluate", "allocate", "scale", "report")
RULE_NAMES = {"minimax_regret": "minimax-regret", "bayesian": "Bayesian"}


@dataclass(frozen=True)
class StageProgress:
    stage: str
    completed: int
    total: int
    state: str
    message: str | None

    @property
    def percent(self) -> float:
        return 100.0 * self.completed / self.total if self.total else 100.0


@dataclass(frozen=True)
class PortfolioRow:
    """One initiative's pilot evidence and the allocation's verdict on it."""

    initiative_id: str
    model_type: str | None
    effect: float | None
    ci_lower: float | None
    ci_upper: float | None
    confidence: float | None
    cost: float | None
    effective_return: float | None
    budget_allocated: float | None
    selected: bool
    why: str


@dataclass(frozen=True)
class OutcomeRow:
    """A scaled initiative: the pilot's prediction and interval, the scale measurement's."""

    initiative_id: str
    model_type: str
    confidence: float
    budget: float
    predicted: float
    predicted_lower: float | None
    predicted_upper: float | None
    actual: float
    actual_lower: float | None
    actual_upper: float | None
    error: float
    n_pilot: int
    n_scale: int


@dataclass(frozen=True)
class Failure:
    initiative_id: str | None
    stage: str
    reason: str
    error_type: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A record of the run that a service dead-lettered, with the ``dlq.*`` headers."""

    topic: str
    service: str
    reason: str
    error_type: str
    source: str


@dataclass
class RunView:
    run_id: str
    status: str  # waiting | running | completed | failed
    name: str | None = None
    started_at: datetime | None = None
    budget: float | None = None
    n_initiatives: int = 0
    rule: str | None = None
    threshold: float = 0.0
    stages: list[StageProgress] = field(default_factory=list)
    portfolio: list[PortfolioRow] = field(default_factory=list)
    outcomes: list[OutcomeRow] = field(default_factory=list)
    allocated: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    chains: dict[str, list[Hop]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    finished: bool = False

    @property
    def budget_percent(self) -> float:
        return 100.0 * self.allocated / self.budget if self.budget else 0.0


def effective_return(confidence: float, median: float, worst: float) -> float:
    """The median scenario's confidence-penalised return ``c R_median + (1 - c) R_worst``,
    as the allocator scores it (docs/allocate.md, "Model")."""
    return confidence * median + (1.0 - confidence) * worst


def run_view(
    run_id: str,
    events: list[tuple[str, dict[str, Any]]],
    dead_letters: list[DeadLetter] | None = None,
) -> RunView:
    """Everything the run page shows, from the events seen so far."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for name, value in events:
        by_name.setdefault(name, []).append(value)
    view = RunView(run_id, "waiting" if not events else "running")
    view.dead_letters = list(dead_letters or [])
    if manifest := _first(by_name, "manifest_submitted"):
        _apply_manifest(view, manifest)
    view.stages = stage_progress(by_name.get("run_status", []))
    completed = _first(by_name, "run_completed")
    allocation = _first(by_name, "allocate_completed")
    view.failures = _failures(by_name.get("stage_failed", []), completed)
    view.portfolio = portfolio(by_name, allocation, view)
    if allocation is not None:
        view.allocated = sum(allocation["result"]["budget_allocated"].values())
        view.rule = allocation["result"].get("rule", view.rule)
    if completed is not None:
        view.status = completed["status"]
        view.summary = dict(completed["summary"])
        view.allocated = view.summary["total_budget_allocated"]
        view.outcomes = outcomes(completed, by_name)
        final_status = any(
            s.stage == "report" and s.state != "running" for s in view.stages
        ) or not by_name.get("run_status")
        view.finished = final_status
    view.chains = lineage(events) if events else {}
    return view


def _first(by_name: dict[str, list[dict[str, Any]]], name: str) -> dict[str, Any] | None:
    values = by_name.get(name)
    return values[0] if values else None


def _apply_manifest(view: RunView, manifest: dict[str, Any]) -> None:
    view.started_at = manifest["produced_at"]
    view.name = manifest.get("name")
    view.budget = manifest["budget"]
    view.n_initiatives = len(manifest["initiatives"])
    allocate = manifest.get("allocate") or {}
    kwargs = allocate.get("kwargs") or {}
    view.threshold = float(kwargs.get("min_confidence_threshold", 0.0))
    rule = kwargs.get("rule")
    if rule is None:
        rule = "bayesian" if "Bayesian" in str(allocate.get("component")) else "minimax_regret"
    view.rule = rule


def stage_progress(statuses: list[dict[str, Any]]) -> list[StageProgress]:
    """The latest ``run_status`` per stage, in pipeline order."""
    latest: dict[str, dict[str, Any]] = {}
    for status in statuses:
        latest[status["stage"]] = status
    order = {stage: index for index, stage in enumerate(STAGES)}
    return [
        StageProgress(s["stage"], s["completed"], s["total"], s["state"], s.get("message"))
        for s in sorted(latest.values(), key=lambda s: order.get(s["stage"], len(STAGES)))
    ]


def _failures(
    stage_failed: list[dict[str, Any]], completed: dict[str, Any] | None
) -> list[Failure]:
    """The run's failures: the report's list once there is one, else the ``stage_failed``
    events so far; each with the error type its ``stage_failed`` event named."""
    types = {(f.get("initiative_id"), f["stage"]): f.get("error_type") for f in stage_failed}
    if completed is not None:
        return [
            Failure(
                f["initiative_id"],
                f["stage"],
                f["reason"],
                types.get((f["initiative_id"], f["stage"])),
            )
            for f in completed["failures"]
        ]
    return [
        Failure(f.get("initiative_id"), f["stage"], f["reason"], f.get("error_type"))
        for f in stage_failed
    ]


def portfolio(
    by_name: dict[str, list[dict[str, Any]]], allocation: dict[str, Any] | None, view: RunView
) -> list[PortfolioRow]:
    """Every initiative of the manifest with its pilot estimate, its evaluation and why it
    was or was not selected (sorted by id)."""
    manifest = _first(by_name, "manifest_submitted")
    ids = {spec["initiative_id"] for spec in (manifest or {}).get("initiatives", [])}
    pilots = {
        m["initiative_id"]: m["result"]
        for m in by_name.get("measure_completed", [])
        if m["phase"] == "pilot"
    }
    evaluations = {e["initiative_id"]: e["result"] for e in by_name.get("evaluate_completed", [])}
    failed = {f.initiative_id: f for f in view.failures if f.initiative_id}
    result = allocation["result"] if allocation else None
    rows = []
    for initiative in sorted(ids | set(pilots) | set(evaluations)):
        pilot, evaluation = pilots.get(initiative), evaluations.get(initiative)
        selected = result is not None and initiative in result["selected_initiatives"]
        rows.append(
            PortfolioRow(
                initiative_id=initiative,
                model_type=pilot["model_type"] if pilot else None,
                effect=pilot["effect_estimate"] if pilot else None,
                ci_lower=pilot["ci_lower"] if pilot else None,
                ci_upper=pilot["ci_upper"] if pilot else None,
                confidence=evaluation["confidence"] if evaluation else None,
                cost=evaluation["cost"] if evaluation else None,
                effective_return=effective_return(
                    evaluation["confidence"],
                    evaluation["return_median"],
                    evaluation["return_worst"],
                )
                if evaluation
                else None,
                budget_allocated=result["budget_allocated"].get(initiative) if result else None,
                selected=selected,
                why=_why(selected, evaluation, failed.get(initiative), result, view),
            )
        )
    return rows


def _why(
    selected: bool,
    evaluation: dict[str, Any] | None,
    failure: Failure | None,
    result: dict[str, Any] | None,
    view: RunView,
) -> str:
    if selected:
        return "selected"
    if failure is not None and evaluation is None:
        return f"failed at {failure.stage}"
    if evaluation is None or result is None:
        return "pending"
    if evaluation["confidence"] < view.threshold:
        return f"below threshold ({evaluation['confidence']:.3f} < {view.threshold:g})"
    budget = result.get("budget", view.budget)
    if budget is not None and evaluation["cost"] > budget:
        return f"over budget ({evaluation['cost']:,.0f} > {budget:,.0f})"
    rule = RULE_NAMES.get(str(result.get("rule") or view.rule), str(result.get("rule")))
    return f"not in the {rule} portfolio"


def outcomes(
    completed: dict[str, Any], by_name: dict[str, list[dict[str, Any]]]
) -> list[OutcomeRow]:
    """The report's rows, each with its 95 % prediction interval (the pilot's CI for a raw
    estimate) and the scale measurement's CI (in the manifest unit when the report has it,
    else from its ``measure_completed``)."""
    pilots = {p["initiative_id"]: p for p in completed.get("pilots") or []}
    scales = {
        m["initiative_id"]: m["result"]
        for m in by_name.get("measure_completed", [])
        if m["phase"] == "scale"
    }
    rows = []
    for r in completed["reports"]:
        pilot, scale = pilots.get(r["initiative_id"]), scales.get(r["initiative_id"])
        rows.append(
            OutcomeRow(
                initiative_id=r["initiative_id"],
                model_type=r["model_type"],
                confidence=r["confidence_score"],
                budget=r["budget_allocated"],
                predicted=r["predicted_return"],
                predicted_lower=_first_set(
                    r.get("prediction_lower"), pilot["ci_lower"] if pilot else None
                ),
                predicted_upper=_first_set(
                    r.get("prediction_upper"), pilot["ci_upper"] if pilot else None
                ),
                actual=r["actual_return"],
                actual_lower=_first_set(
                    r.get("actual_ci_lower"), scale["ci_lower"] if scale else None
                ),
                actual_upper=_first_set(
                    r.get("actual_ci_upper"), scale["ci_upper"] if scale else None
                ),
                error=r["prediction_error"],
                n_pilot=r["sample_size_pilot"],
                n_scale=r["sample_size_scale"],
            )
        )
    return rows


def _first_set(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)
