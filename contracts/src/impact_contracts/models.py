"""Stage contracts: the data each stage hands to the next, validated at construction.

Every invariant of the design's "Contracts" (`../shared/ARCHITECTURE.md`) is checked here, and a
violation raises ``pydantic.ValidationError`` whose message names the offending field.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ModelType = Literal[
    "experiment",
    "interrupted_time_series",
    "synthetic_control",
    "nearest_neighbour_matching",
    "subclassification",
    "metrics_approximation",
]
MODEL_TYPES: tuple[str, ...] = ModelType.__args__  # type: ignore[attr-defined]

Phase = Literal["pilot", "scale"]
Stage = Literal["manifest", "measure", "evaluate", "allocate", "scale", "report"]

#: Absolute tolerance used when comparing sums and differences of floats.
FLOAT_TOLERANCE = 1e-9


class Contract(BaseModel):
    """Base of every contract: immutable, no unknown fields, finite floats only."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class OrderedContract(Contract):
    """A contract with three fields that must stand in order: ``ORDER`` names them low,
    middle, high; ``ORDER_MESSAGE`` (formatted with their values) is the error otherwise."""

    ORDER: ClassVar[tuple[str, str, str]]
    ORDER_MESSAGE: ClassVar[str]

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        values = {name: getattr(self, name) for name in self.ORDER}
        low, middle, high = (values[name] for name in self.ORDER)
        if not low <= middle <= high:
            raise ValueError(self.ORDER_MESSAGE.format(**values))
        return self


class Estimate(Contract):
    """An effect estimate of one initiative with its 95 % CI: the fields a measurement and
    a report's pilot row share."""

    initiative_id: str = Field(min_length=1)
    model_type: ModelType
    effect_estimate: float
    ci_lower: float
    ci_upper: float
    p_value: float | None = Field(default=None, ge=0.0, le=1.0)
    sample_size: int = Field(ge=30)


class MeasureResult(Estimate, OrderedContract):
    """A causal effect estimate with an honest 95% confidence interval.

    ``sample_size`` always means *the number of unit-level observations the estimate
    rests on*: the rows of the unit-level data as supplied to the model (a product in a
    cross-section, a product-day in a panel or in a series aggregated from one), where a
    pre-aggregated row counts as the ``count_column`` observations behind it. The design
    counts are separate: ``n_treated``/``n_control`` count units, ``n_pre``/``n_post``
    count periods.
    ``p_value`` is ``None`` where the method defines none; it is never faked.
    """

    n_treated: int | None = Field(default=None, ge=0)
    n_control: int | None = Field(default=None, ge=0)
    n_pre: int | None = Field(default=None, ge=0)
    n_post: int | None = Field(default=None, ge=0)
    diagnostics: dict[str, Any] = Field(default_factory=dict)

    ORDER = ("ci_lower", "effect_estimate", "ci_upper")
    ORDER_MESSAGE = (
        "effect_estimate: {effect_estimate} must lie within "
        "[ci_lower={ci_lower}, ci_upper={ci_upper}]"
    )


Estimates = Literal["raw", "posterior"]


class EvaluateResult(OrderedContract):
    """Scored initiative with best/median/worst scenario returns.

    ``confidence`` is a design-strength score (how much the design and its evidence are
    trusted), not a probability. With ``estimates="raw"`` the returns are the pilot CI and
    estimate; with ``"posterior"`` they are the empirical-Bayes posterior's 2.5 % quantile,
    mean and 97.5 % quantile, ``probability_positive`` is P(effect > 0) and
    ``prediction_lower``/``prediction_upper`` bound the scale result's 95 % posterior
    predictive interval (``prediction_sd`` its standard deviation).
    """

    initiative_id: str = Field(min_length=1)
    confidence: float = Field(ge=0.0, le=1.0)
    cost: float = Field(gt=0.0)
    return_best: float
    return_median: float
    return_worst: float
    model_type: ModelType
    sample_size: int = Field(ge=30)
    estimates: Estimates = "raw"
    probability_positive: float | None = Field(default=None, ge=0.0, le=1.0)
    prediction_lower: float | None = None
    prediction_upper: float | None = None
    prediction_sd: float | None = Field(default=None, ge=0.0)

    ORDER = ("return_worst", "return_median", "return_best")
    ORDER_MESSAGE = (
        "return_median: requires return_worst ({return_worst}) <= return_median "
        "({return_median}) <= return_best ({return_best})"
    )


class AllocateResult(Contract):
    """A portfolio: which initiatives get budget, and how the solver got there.

    ``budget_allocated`` and ``predicted_returns`` are keyed by exactly the ids in
    ``selected_initiatives``; their budgets sum to at most ``budget``.
    """

    selected_initiatives: list[str]
    budget_allocated: dict[str, float]
    predicted_returns: dict[str, float]
    budget: float = Field(ge=0.0)
    rule: str
    solver_status: str
    objective: float | None = None
    mip_gap: float | None = Field(default=None, ge=0.0)
    reason: str | None = None

    @field_validator("selected_initiatives")
    @classmethod
    def _unique_ids(cls, ids: list[str]) -> list[str]:
        if len(set(ids)) != len(ids):
            raise ValueError("selected_initiatives: contains duplicate ids")
        return ids

    @model_validator(mode="after")
    def _consistent(self) -> AllocateResult:
        selected = set(self.selected_initiatives)
        for name in ("budget_allocated", "predicted_returns"):
            keys = set(getattr(self, name))
            if keys != selected:
                raise ValueError(
                    f"{name}: keys {sorted(keys)} differ from selected_initiatives "
                    f"{sorted(selected)}"
                )
        total = math.fsum(self.budget_allocated.values())
        if total > self.budget + FLOAT_TOLERANCE * max(1.0, abs(self.budget)):
            raise ValueError(f"budget_allocated: total {total} exceeds budget {self.budget}")
        if any(v < 0 for v in self.budget_allocated.values()):
            raise ValueError("budget_allocated: amounts must be >= 0")
        return self


class OutcomeReport(Contract):
    """Pilot prediction vs scale actual for one selected initiative.

    ``predicted_return`` is the posterior mean (or the raw pilot estimate) in the manifest
    unit; ``prediction_lower``/``prediction_upper`` its 95 % prediction interval for the scale
    result and ``inside_interval`` whether the actual fell inside; ``confidence_score`` is a
    design-strength score, not a probability (``probability_positive`` is one).
    """

    initiative_id: str = Field(min_length=1)
    predicted_return: float
    actual_return: float
    prediction_error: float
    sample_size_pilot: int = Field(ge=30)
    sample_size_scale: int = Field(ge=30)
    budget_allocated: float = Field(ge=0.0)
    confidence_score: float = Field(ge=0.0, le=1.0)
    model_type: ModelType
    prediction_lower: float | None = None
    prediction_upper: float | None = None
    inside_interval: bool | None = None
    probability_positive: float | None = Field(default=None, ge=0.0, le=1.0)
    actual_ci_lower: float | None = None
    actual_ci_upper: float | None = None
    value_per_cost: float | None = None

    @model_validator(mode="after")
    def _error_is_difference(self) -> OutcomeReport:
        expected = self.actual_return - self.predicted_return
        if not math.isclose(self.prediction_error, expected, rel_tol=1e-9, abs_tol=1e-9):
            raise ValueError(
                f"prediction_error: {self.prediction_error} != actual_return - predicted_return "
                f"({expected})"
            )
        return self


class PilotEstimate(Estimate):
    """The pilot measurement of one initiative as the report shows it, whether or not it
    was selected or measured at scale (``confidence_score`` is ``None`` when EVALUATE
    failed for it)."""

    confidence_score: float | None = Field(default=None, ge=0.0, le=1.0)
    selected: bool = False
    predicted_return: float | None = None
    probability_positive: float | None = Field(default=None, ge=0.0, le=1.0)


class InitiativeFailure(Contract):
    """An initiative that dropped out of a run, with the stage and the reason."""

    initiative_id: str
    stage: Stage
    reason: str


class RunSummary(Contract):
    """Run-level totals for a completed run."""

    budget: float = Field(ge=0.0)
    n_initiatives: int = Field(ge=0)
    n_evaluated: int = Field(ge=0)
    n_selected: int = Field(ge=0)
    n_failed: int = Field(ge=0)
    total_budget_allocated: float = Field(ge=0.0)
    total_predicted_return: float
    total_actual_return: float
    total_prediction_error: float
    solver_status: str | None = None
    missing: list[str] = Field(default_factory=list)
    reason: str | None = None
    predicted_total_lower: float | None = None
    predicted_total_upper: float | None = None
    n_inside_interval: int = Field(default=0, ge=0)
    n_with_interval: int = Field(default=0, ge=0)
    unit: str | None = None
    estimates: Estimates = "raw"
