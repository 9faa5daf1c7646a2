"""A run as the dashboard shows it, built from the run's decoded events (pure, no Kafka).

``run_view(events, dead_letters)`` takes the ``(event name, value)`` pairs of one run, as
``impact_observe.bus.Bus.read_run`` / ``follow`` yield them, in any order, and returns plain
rows: stage progress, the executive summary, the portfolio with why each initiative was or
was not selected (``impact_dashboard.portfolio``),
predicted vs actual with both intervals, lineage and failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from impact_observe.executive import ExecutiveSummary
from impact_observe.lineage import Hop, lineage
from impact_observe.stages import STAGES, stage_label

from impact_dashboard.portfolio import PortfolioRow, last_allocation, portfolio_rows, summary_of


@dataclass(frozen=True)
class StageProgress:
    stage: str
    completed: int
    total: int
    state: str
    message: str | None
    run_final: bool = False

    @property
    def label(self) -> str:
        """``done`` once every item is in, ``stopped`` when the run ended before that."""
        return stage_label(self.completed, self.total, self.state, self.run_final)

    @property
    def percent(self) -> float:
        return 100.0 * self.completed / self.total if self.total else 100.0


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
    probability_positive: float | None = None
    inside: bool | None = None


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
    unit: str | None = None
    stages: list[StageProgress] = field(default_factory=list)
    portfolio: list[PortfolioRow] = field(default_factory=list)
    outcomes: list[OutcomeRow] = field(default_factory=list)
    allocated: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    chains: dict[str, list[Hop]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    finished: bool = False
    executive: ExecutiveSummary | None = None

    @property
    def budget_percent(self) -> float:
        return 100.0 * self.allocated / self.budget if self.budget else 0.0


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
    allocation = last_allocation(by_name)
    view.failures = _failures(by_name.get("stage_failed", []), completed)
    view.portfolio = portfolio_rows(
        by_name,
        budget=view.budget,
        threshold=view.threshold,
        rule=view.rule,
        failed={f.initiative_id: f.stage for f in view.failures if f.initiative_id},
    )
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
    if view.finished or any(s.stage == "report" and s.state != "running" for s in view.stages):
        view.stages = [replace(s, run_final=True) for s in view.stages]
    view.executive = summary_of(
        view.portfolio,
        budget=view.budget,
        status=view.status,
        summary={"unit": view.unit, **view.summary} if view.summary else {"unit": view.unit},
        threshold=view.threshold,
        n_initiatives=view.n_initiatives or len(view.portfolio),
    )
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
    view.unit = manifest.get("unit")
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
                probability_positive=r.get("probability_positive"),
                inside=r.get("inside_interval"),
            )
        )
    return rows


def _first_set(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)
