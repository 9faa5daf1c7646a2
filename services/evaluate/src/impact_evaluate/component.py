"""The EVALUATE components: ``Evaluate`` (evidence-based scoring) and ``MockEvaluate``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from impact_contracts import (
    ComponentCatalog,
    ConfigError,
    ContractViolation,
    EvaluateResult,
    MeasureResult,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from impact_evaluate.cohort import ESTIMATES, MIN_FAMILY_SIZE
from impact_evaluate.earlier import earlier_pilots
from impact_evaluate.scoring import EvidenceWeights, build_design_ranges, confidence_score

EVALUATE_COMPONENTS = ComponentCatalog("evaluate")


class EvaluateRequest(BaseModel):
    """The ``execute`` input: one pilot measurement and the cost of scaling it."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    initiative_id: str = Field(min_length=1)
    cost_to_scale: float = Field(gt=0.0)
    measure: MeasureResult


def parse_request(event: Mapping[str, Any]) -> EvaluateRequest:
    """Validate ``event``; raise ``ContractViolation`` naming the offending field."""
    try:
        request = EvaluateRequest.model_validate(dict(event))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<event>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ContractViolation(f"evaluate input: {problems}") from exc
    if request.measure.initiative_id != request.initiative_id:
        raise ContractViolation(
            f"evaluate input: measure.initiative_id: {request.measure.initiative_id!r} "
            f"differs from initiative_id {request.initiative_id!r}"
        )
    return request


def check_cohort_settings(
    estimates: str, min_family_size: int, earlier: Sequence[Mapping[str, Any]] | None = None
) -> None:
    """The cohort step's kwargs (``impact_evaluate.cohort.pool_run`` reads them); the
    earlier pilots as records (the manifest loader reads a file into them)."""
    if earlier is not None:
        earlier_pilots(earlier)
    if estimates not in ESTIMATES:
        raise ConfigError(f"estimates: expected one of {ESTIMATES}, got {estimates!r}")
    if (
        isinstance(min_family_size, bool)
        or not isinstance(min_family_size, int)
        or (min_family_size < 1)
    ):
        raise ConfigError(f"min_family_size: must be an integer >= 1, got {min_family_size!r}")


def scored_result(request: EvaluateRequest, confidence: float) -> dict[str, Any]:
    """Build the validated ``EvaluateResult`` dict: returns come from the pilot CI."""
    measure = request.measure
    result = EvaluateResult(
        initiative_id=request.initiative_id,
        confidence=confidence,
        cost=request.cost_to_scale,
        return_best=measure.ci_upper,
        return_median=measure.effect_estimate,
        return_worst=measure.ci_lower,
        model_type=measure.model_type,
        sample_size=measure.sample_size,
    )
    return result.model_dump()


@EVALUATE_COMPONENTS.register()
class Evaluate:
    """Deterministic confidence scoring keyed by model type (see ``impact_evaluate.scoring``).

    Arguments:
        design_ranges: per-model ``[low, high]`` overrides of ``DEFAULT_DESIGN_RANGES``.
        sample_size_half: the sample size scoring 0.5 on the size sub-score.
        weight_precision, weight_size, weight_significance: evidence weights.
        estimates: ``posterior`` (default: the cohort step pools every pilot into an
            empirical-Bayes posterior, decision 0080) or ``raw`` (the pilot CI, as the
            original did).
        min_family_size: the smallest design family that gets a prior of its own.
        earlier_pilots: pilots of earlier runs the prior is also fitted on (decision
            0094): records with ``estimate``, ``ci_lower``, ``ci_upper`` and optionally
            ``model_type`` and the value model; in a manifest also a file of them.

    Raises:
        ConfigError: at construction, for unknown models, bad ranges or bad weights.
        ContractViolation: from ``execute``, when the event breaks the input contract.
    """

    def __init__(
        self,
        design_ranges: Mapping[str, Any] | None = None,
        sample_size_half: float = 500.0,
        weight_precision: float = 0.5,
        weight_size: float = 0.3,
        weight_significance: float = 0.2,
        estimates: str = "posterior",
        min_family_size: int = MIN_FAMILY_SIZE,
        earlier_pilots: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        check_cohort_settings(estimates, min_family_size, earlier_pilots)
        self.ranges = build_design_ranges(design_ranges)
        if sample_size_half <= 0:
            raise ConfigError(f"sample_size_half: must be > 0, got {sample_size_half}")
        weights = EvidenceWeights(weight_precision, weight_size, weight_significance)
        if min(weight_precision, weight_size, weight_significance) < 0 or (
            weight_precision + weight_size <= 0
        ):
            raise ConfigError(f"weight_*: must be >= 0 with precision + size > 0, got {weights}")
        self.weights = weights
        self.sample_size_half = float(sample_size_half)

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        request = parse_request(event)
        confidence = confidence_score(
            request.measure, self.ranges, self.weights, self.sample_size_half
        )
        return scored_result(request, confidence)


@EVALUATE_COMPONENTS.register()
class MockEvaluate:
    """Fixed confidence for every initiative (tests, demos); returns still come from the CI
    (``estimates``, ``min_family_size`` and ``earlier_pilots`` as for ``Evaluate``)."""

    def __init__(
        self,
        confidence: float = 0.8,
        estimates: str = "posterior",
        min_family_size: int = MIN_FAMILY_SIZE,
        earlier_pilots: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        check_cohort_settings(estimates, min_family_size, earlier_pilots)
        if not 0.0 <= confidence <= 1.0:
            raise ConfigError(f"confidence: must be in [0, 1], got {confidence}")
        self.confidence = float(confidence)

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        return scored_result(parse_request(event), self.confidence)
