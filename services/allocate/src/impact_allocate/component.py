"""The ALLOCATE components: minimax regret, Bayesian (weighted scenarios), a rule switch
(the default: the Bayes rule on posterior returns, minimax regret on raw ones) and a
greedy mock. Inputs and outputs are validated with the shared contracts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, Literal

from impact_contracts import (
    AllocateResult,
    ConfigError,
    ContractViolation,
    EvaluateResult,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from impact_allocate.catalog import ALLOCATE_COMPONENTS
from impact_allocate.deadline import Deadline
from impact_allocate.problem import SCENARIOS, Candidates, build_candidates
from impact_allocate.solve import Baseline, Method, Portfolio, solve_minimax, solve_weighted

#: Seconds kept back from the time limit to build and validate the result, per candidate.
RESULT_S_PER_CANDIDATE = 4e-6

Rule = Literal["minimax_regret", "bayesian"]
#: the original's scenario weights, for raw (pilot CI) returns
RAW_WEIGHTS = {"best": 0.25, "median": 0.5, "worst": 0.25}
#: on posterior returns the Bayes decision maximises the posterior mean (decision 0080)
POSTERIOR_WEIGHTS = {"best": 0.0, "median": 1.0, "worst": 0.0}


class AllocateSettings(BaseModel):
    """Component kwargs (from the manifest's ``ALLOCATE`` section)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    min_confidence_threshold: float = Field(default=0.0, ge=0.0, le=1.0)
    min_portfolio_worst_return: float | None = None
    time_limit_s: float = Field(default=60.0, gt=0.0)
    solver: Method = "fast"
    regret_baseline: Baseline = "constrained"
    #: default: ``RAW_WEIGHTS``, or ``POSTERIOR_WEIGHTS`` when every return is a posterior
    scenario_weights: dict[str, float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> AllocateSettings:
        weights = self.scenario_weights
        if weights is not None and (
            set(weights) != set(SCENARIOS)
            or min(weights.values()) < 0
            or sum(weights.values()) <= 0
        ):
            raise ValueError(
                f"scenario_weights: need non-negative weights for exactly {SCENARIOS}, "
                f"got {weights}"
            )
        return self


class AllocateRequest(BaseModel):
    """The ``execute`` input."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    budget: float = Field(ge=0.0)
    initiatives: list[EvaluateResult]

    @model_validator(mode="after")
    def _unique(self) -> AllocateRequest:
        counts = Counter(item.initiative_id for item in self.initiatives)
        duplicates = sorted(i for i, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"initiatives: duplicate initiative_id {duplicates}")
        return self


def _reserve(candidates: int) -> float:
    """Time kept back from solving to build and validate the result."""
    return 0.05 + RESULT_S_PER_CANDIDATE * candidates


def _messages(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<event>'}: {err['msg']}" for err in exc.errors()
    )


def parse_settings(kwargs: Mapping[str, Any]) -> AllocateSettings:
    try:
        return AllocateSettings.model_validate(dict(kwargs))
    except ValidationError as exc:
        raise ConfigError(f"allocate kwargs: {_messages(exc)}") from exc


def parse_request(event: Mapping[str, Any]) -> AllocateRequest:
    try:
        return AllocateRequest.model_validate(dict(event))
    except ValidationError as exc:
        raise ContractViolation(f"allocate input: {_messages(exc)}") from exc


class PortfolioAllocator:
    """Shared flow: validate, filter eligible and affordable candidates, solve, report."""

    rule: Rule = "minimax_regret"

    def __init__(self, **kwargs: Any) -> None:
        self.settings = parse_settings(kwargs)

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        # the time limit covers the whole call: validation, solving and the result
        deadline = Deadline(self.settings.time_limit_s)
        request = parse_request(event)
        threshold = self.settings.min_confidence_threshold
        eligible = [i for i in request.initiatives if i.confidence >= threshold]
        affordable = [i for i in eligible if i.cost <= request.budget]
        empty = self._empty_reason(request, eligible, affordable)
        if empty is not None:
            return self._result(request.budget, build_candidates([]), empty)
        candidates = build_candidates(affordable)
        solving = Deadline(max(0.0, deadline.left() - _reserve(candidates.size)))
        posterior = all(item.estimates == "posterior" for item in affordable)
        portfolio = self.solve(candidates, request.budget, solving, posterior)
        return self._result(request.budget, candidates, portfolio, self.rule_for(posterior))

    def rule_for(self, posterior: bool) -> Rule:
        """The decision rule used on these returns (fixed but for ``Allocate``'s default)."""
        return self.rule

    def solve(
        self, candidates: Candidates, budget: float, deadline: Deadline, posterior: bool = False
    ) -> Portfolio:
        s = self.settings
        min_worst = s.min_portfolio_worst_return
        if self.rule_for(posterior) == "bayesian":
            chosen = s.scenario_weights or (POSTERIOR_WEIGHTS if posterior else RAW_WEIGHTS)
            weights = [chosen[name] for name in SCENARIOS]
            return solve_weighted(
                candidates, weights, budget, min_worst, s.solver, deadline=deadline
            )
        return solve_minimax(
            candidates,
            budget,
            min_worst,
            s.solver,
            baseline=s.regret_baseline,
            deadline=deadline,
        )

    def _empty_reason(
        self,
        request: AllocateRequest,
        eligible: list[EvaluateResult],
        affordable: list[EvaluateResult],
    ) -> Portfolio | None:
        min_worst = self.settings.min_portfolio_worst_return
        unreachable = min_worst is not None and min_worst > 0
        status = "Infeasible" if unreachable else "NoCandidates"
        if not request.initiatives:
            return Portfolio(status, reason="no initiatives to allocate")
        if not eligible:
            threshold = self.settings.min_confidence_threshold
            return Portfolio(
                status,
                reason=f"no initiative reaches min_confidence_threshold {threshold:g} "
                f"({len(request.initiatives)} below it)",
            )
        if not affordable:
            cheapest = min(i.cost for i in eligible)
            return Portfolio(
                status,
                reason=f"budget {request.budget:g} is below the cheapest eligible cost "
                f"{cheapest:g}",
            )
        return None

    def _result(
        self, budget: float, candidates: Candidates, portfolio: Portfolio, rule: Rule | None = None
    ) -> dict[str, Any]:
        chosen = [candidates.ids[i] for i in portfolio.selected]
        costs = {candidates.ids[i]: float(candidates.cost[i]) for i in portfolio.selected}
        medians = {candidates.ids[i]: float(candidates.median[i]) for i in portfolio.selected}
        result = AllocateResult(
            selected_initiatives=chosen,
            budget_allocated=costs,
            predicted_returns=medians,
            budget=budget,
            rule=rule or self.rule,
            solver_status=portfolio.status,
            objective=portfolio.objective,
            mip_gap=portfolio.mip_gap,
            reason=portfolio.reason,
        )
        return result.model_dump()


@ALLOCATE_COMPONENTS.register()
class MinimaxRegretAllocate(PortfolioAllocator):
    """Minimise the maximum regret over best/median/worst scenarios (PuLP/CBC, exact)."""

    rule: Rule = "minimax_regret"


@ALLOCATE_COMPONENTS.register()
class BayesianAllocate(PortfolioAllocator):
    """Maximise the scenario-weighted effective return (``scenario_weights``; by default
    the posterior mean on posterior returns, 0.25/0.5/0.25 on raw ones)."""

    rule: Rule = "bayesian"


@ALLOCATE_COMPONENTS.register()
class Allocate(PortfolioAllocator):
    """Pick the decision rule by kwarg: ``rule: minimax_regret | bayesian | auto``. ``auto``
    (the default) is the Bayes rule on posterior returns, which maximises the expected value,
    and minimax regret on raw pilot returns, as the original did (decision 0086)."""

    def __init__(self, rule: Rule | Literal["auto"] = "auto", **kwargs: Any) -> None:
        if rule not in ("minimax_regret", "bayesian", "auto"):
            raise ConfigError(
                f"rule: expected 'minimax_regret', 'bayesian' or 'auto', got {rule!r}"
            )
        self.auto = rule == "auto"
        self.rule = "minimax_regret" if rule == "auto" else rule
        super().__init__(**kwargs)

    def rule_for(self, posterior: bool) -> Rule:
        if self.auto:
            return "bayesian" if posterior else "minimax_regret"
        return self.rule


@ALLOCATE_COMPONENTS.register()
class MockAllocate:
    """Greedy by median return per unit cost (ties by id), no solver: tests and demos."""

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        request = parse_request(event)
        ranked = sorted(
            request.initiatives, key=lambda i: (-i.return_median / i.cost, i.initiative_id)
        )
        chosen: list[EvaluateResult] = []
        spent = 0.0
        for item in ranked:
            if item.return_median > 0 and spent + item.cost <= request.budget:
                chosen.append(item)
                spent += item.cost
        chosen.sort(key=lambda i: i.initiative_id)
        return AllocateResult(
            selected_initiatives=[i.initiative_id for i in chosen],
            budget_allocated={i.initiative_id: i.cost for i in chosen},
            predicted_returns={i.initiative_id: i.return_median for i in chosen},
            budget=request.budget,
            rule="mock",
            solver_status="Heuristic",
        ).model_dump()
