"""Why each initiative was or was not selected, naming the cause (pure, no Kafka).

``reasons(candidates, budget=..., threshold=..., rule=...)`` takes every initiative's
evaluation (cost, predicted value, interval, P(effect > 0), design strength) and whether
the allocation selected it, and returns one :class:`Reason` per initiative. Causes, first
match wins:

1. ``selected``;
1a. ``dropped``: dropped from the portfolio at its approval (``impact approve --drop``),
   with who dropped it and their note (:func:`dropped_at_approval` reads the decision);
2. ``failed``: dropped out before it was evaluated;
3. ``pending``: no evaluation or no allocation yet;
4. ``below_threshold``: design strength under ``min_confidence_threshold``;
5. ``over_budget``: costs more than the whole budget;
6. ``negative``: predicted value ≤ 0;
7. ``displaced``: costs more than the budget left after the portfolio, and selected
   initiatives with a better value per cost (predicted / cost) took the budget (named,
   the closest above its own value per cost first);
8. ``no_budget_left``: costs more than the budget left, and no selected initiative has a
   better value per cost (the knapsack filled the budget better without it);
9. ``uncertain``: it fits in the budget left, but its 95 % interval includes 0 (or,
   without an interval, P(effect > 0) < 0.975): adding it raises the portfolio's risk;
10. ``not_chosen``: none of the above (the allocation's rule, ``AllocateResult.rule``,
    preferred the portfolio without it).

When the cost is not known (a ``run_completed`` read without its manifest), the budget
causes (5, 7, 8) are skipped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

ReasonKind = Literal[
    "selected",
    "dropped",
    "failed",
    "pending",
    "below_threshold",
    "over_budget",
    "negative",
    "displaced",
    "no_budget_left",
    "uncertain",
    "not_chosen",
]
RULE_NAMES = {"minimax_regret": "minimax-regret", "bayesian": "Bayesian"}
#: A 95 % interval excludes 0 on the positive side when P(effect > 0) ≥ 0.975.
SURE_POSITIVE = 0.975
#: Better-value initiatives named in a ``displaced`` reason, at most.
NAMED = 3
#: the orchestrator's record of an amendment (``run_status`` of stage ``approval``, and
#: the run's reason): ``amended by WHO[: NOTE]; dropped A, B``
_AMENDED = re.compile(r"amended by (?P<who>.+?); dropped (?P<ids>[^;]+)")


@dataclass(frozen=True)
class Candidate:
    """One initiative as the allocation saw it (values in the manifest's unit).

    ``lower``/``upper`` is the 95 % interval the allocation decided on (posterior
    quantiles, or the pilot CI for raw estimates); only its sign matters for the cause.
    """

    initiative_id: str
    cost: float | None = None
    predicted: float | None = None
    lower: float | None = None
    upper: float | None = None
    probability_positive: float | None = None
    confidence: float | None = None
    selected: bool = False
    failed_stage: str | None = None

    @property
    def value_per_cost(self) -> float | None:
        if self.predicted is None or not self.cost:
            return None
        return self.predicted / self.cost


@dataclass(frozen=True)
class Reason:
    """Why an initiative is (not) in the portfolio: a cause and a sentence naming it."""

    kind: ReasonKind
    text: str
    by: tuple[str, ...] = ()  # the initiatives that displaced it

    @property
    def selected(self) -> bool:
        return self.kind == "selected"


def _g(value: float) -> str:
    return f"{value:,.3g}"


def _money(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def reasons(
    candidates: Sequence[Candidate],
    *,
    budget: float | None,
    threshold: float = 0.0,
    rule: str | None = None,
    allocated: bool = True,
    dropped: Mapping[str, str] | None = None,
) -> dict[str, Reason]:
    """One :class:`Reason` per candidate id. ``allocated`` is False while the allocation
    has not been seen yet (every unselected evaluated initiative is then ``pending``);
    ``dropped``: initiatives dropped at the approval → who dropped them (``WHO: NOTE``)."""
    dropped = dropped or {}
    chosen = [c for c in candidates if c.selected]
    spent = math.fsum(c.cost or 0.0 for c in chosen)
    left = None if budget is None else budget - spent
    rule_name = RULE_NAMES.get(str(rule), str(rule or "allocation"))
    return {
        c.initiative_id: Reason("dropped", f"dropped at approval (by {dropped[c.initiative_id]})")
        if not c.selected and c.initiative_id in dropped
        else _reason(c, chosen, budget, left, threshold, rule_name, allocated)
        for c in candidates
    }


def dropped_at_approval(texts: Iterable[str | None]) -> dict[str, str]:
    """Initiative id → ``WHO: NOTE`` (or ``WHO``) of every amendment recorded in
    ``texts`` (the ``approval`` statuses' messages, or a run's reason)."""
    found: dict[str, str] = {}
    for text in texts:
        for match in _AMENDED.finditer(text or ""):
            for initiative_id in match["ids"].split(", "):
                found.setdefault(initiative_id.strip(), match["who"])
    return found


def _reason(
    c: Candidate,
    chosen: list[Candidate],
    budget: float | None,
    left: float | None,
    threshold: float,
    rule_name: str,
    allocated: bool,
) -> Reason:
    if c.selected:
        return Reason("selected", "selected")
    if c.predicted is None:
        if c.failed_stage is not None:
            return Reason("failed", f"failed at {c.failed_stage}")
        return Reason("pending", "pending")
    if not allocated:
        return Reason("pending", "pending")
    if c.confidence is not None and c.confidence < threshold:
        return Reason(
            "below_threshold",
            f"design strength {c.confidence:.3f} below the minimum {threshold:g}",
        )
    if c.cost is None:  # the cost is not known: the budget causes cannot be told apart
        return _risk(c, c.predicted, rule_name)
    if budget is not None and c.cost > budget:
        return Reason(
            "over_budget", f"costs {_money(c.cost)}, more than the whole budget {_money(budget)}"
        )
    if c.predicted <= 0:
        return _risk(c, c.predicted, rule_name)
    if left is not None and c.cost > left:
        own = c.predicted / c.cost
        better = sorted(  # the closest above it first: the last to take its place
            (s for s in chosen if (s.value_per_cost or -math.inf) > own),
            key=lambda s: (s.value_per_cost or 0.0, s.initiative_id),
        )
        money = f"costs {_money(c.cost)}, {_money(max(left, 0.0))} left"
        if better:
            named = ", ".join(
                f"{s.initiative_id} ({_g(s.value_per_cost or 0.0)})" for s in better[:NAMED]
            )
            more = f" and {len(better) - NAMED} more" if len(better) > NAMED else ""
            return Reason(
                "displaced",
                f"displaced by a better value per cost: {named}{more}, against its "
                f"{_g(own)}; {money}",
                tuple(s.initiative_id for s in better),
            )
        return Reason("no_budget_left", f"not enough budget left: {money}")
    return _risk(c, c.predicted, rule_name)


def _risk(c: Candidate, predicted: float, rule_name: str) -> Reason:
    """The effect's causes: negative, uncertain, else not chosen by the rule."""
    if predicted <= 0:
        return Reason("negative", f"negative effect: predicted {_g(predicted)} ≤ 0{_p(c)}")
    if _uncertain(c):
        return Reason("uncertain", f"uncertain effect: {_interval(c)}")
    return Reason("not_chosen", f"not in the {rule_name} portfolio")


def _uncertain(c: Candidate) -> bool:
    if c.lower is not None:
        return c.lower <= 0
    return c.probability_positive is not None and c.probability_positive < SURE_POSITIVE


def _p(c: Candidate) -> str:
    p = c.probability_positive
    return "" if p is None else f", P(effect > 0) = {p:.2f}"


def _interval(c: Candidate) -> str:
    parts = []
    if c.lower is not None and c.upper is not None:
        parts.append(f"95 % interval [{_g(c.lower)}, {_g(c.upper)}] includes 0")
    if c.probability_positive is not None:
        parts.append(f"P(effect > 0) = {c.probability_positive:.2f}")
    return ", ".join(parts)


def candidates_from_completed(
    completed: dict[str, Any], manifest: dict[str, Any] | None = None
) -> list[Candidate]:
    """Candidates from a ``run_completed`` payload: its ``pilots`` (predicted value,
    P(effect > 0), design strength, selected), the costs from the manifest (its
    ``cost_to_scale``, as evaluate is sent it) and the failures. The interval is the
    pilot's CI: in the pilot's own unit, but with the sign the value has."""
    costs = {
        spec["initiative_id"]: float(spec["cost_to_scale"])
        for spec in (manifest or {}).get("initiatives", [])
        if spec.get("cost_to_scale") is not None
    }
    for report in completed.get("reports", []):
        costs.setdefault(report["initiative_id"], float(report["budget_allocated"]))
    failed = {f["initiative_id"]: f["stage"] for f in completed.get("failures", [])}
    posterior = (completed.get("summary") or {}).get("estimates") == "posterior"
    out: dict[str, Candidate] = {}
    for p in completed.get("pilots", []):
        i = p["initiative_id"]
        evaluated = p.get("confidence_score") is not None
        out[i] = Candidate(
            initiative_id=i,
            cost=costs.get(i) if evaluated else None,
            predicted=_first_set(p.get("predicted_return"), p["effect_estimate"])
            if evaluated
            else None,
            lower=None if posterior else p["ci_lower"],
            upper=None if posterior else p["ci_upper"],
            probability_positive=p.get("probability_positive"),
            confidence=p.get("confidence_score"),
            selected=bool(p.get("selected")),
            failed_stage=failed.get(i),
        )
    for i, stage in failed.items():
        out.setdefault(i, Candidate(i, failed_stage=stage))
    for spec in (manifest or {}).get("initiatives", []):
        out.setdefault(spec["initiative_id"], Candidate(spec["initiative_id"]))
    return [out[i] for i in sorted(out)]


def _first_set(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def rule_used(rule: str, estimates: str | None) -> str:
    """The rule an allocation with ``rule`` used: ``auto`` is the Bayes rule on posterior
    returns and minimax regret on raw ones (docs/allocate.md); others are themselves."""
    if rule != "auto":
        return rule
    return "minimax_regret" if estimates == "raw" else "bayesian"


def allocation_settings(manifest: dict[str, Any] | None) -> tuple[float, str]:
    """``(min_confidence_threshold, rule)`` of a manifest payload (defaults 0 and the
    component's rule)."""
    allocate = (manifest or {}).get("allocate") or {}
    kwargs = allocate.get("kwargs") or {}
    rule = kwargs.get("rule")
    if rule is None:
        rule = "bayesian" if "Bayesian" in str(allocate.get("component")) else "minimax_regret"
    return float(kwargs.get("min_confidence_threshold") or 0.0), str(rule)
