"""Payload contracts of the events the orchestrator consumes (after the envelope fields).

A consumer checks them before acting, whoever produced the event: ``impact publish``
builds a ``ManifestSubmitted`` (the manifest loader's ``Manifest`` is one), but any Kafka
client can write to the topic. Limits are the ceilings the wire accepts; a publisher may
be stricter, never looser.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from impact_contracts.models import (
    AllocateResult,
    Contract,
    EvaluateResult,
    MeasureResult,
    Phase,
)

MAX_INITIATIVES = 100_000
MAX_SAMPLE_SIZE = 10_000_000
MAX_WORKERS = 256
MAX_SEED = 2**63 - 1  # an Avro long, and numpy seeds are non-negative
#: The longest run name: a title on a page and a column in a list.
MAX_NAME_LENGTH = 120

FailedStage = Literal["measure", "evaluate", "allocate"]
Approval = Literal["required", "none"]
CommandAction = Literal["approve", "reject", "scale"]
MAX_DEADLINE_DAYS = 3660.0


class StageChoice(Contract):
    """Which registered component runs a stage, and the kwargs it is constructed with."""

    component: str = Field(min_length=1)
    kwargs: dict[str, Any] = Field(default_factory=dict)


class InitiativeSpec(Contract):
    """One candidate initiative with its measure config inlined (absolute data paths)."""

    initiative_id: str = Field(min_length=1)
    cost_to_scale: float = Field(gt=0)
    measure_config: dict[str, Any]
    outcome_unit: str | None = Field(default=None, min_length=1)
    value_per_unit: float | None = Field(default=None, gt=0)
    units_at_scale: float | None = Field(default=None, gt=0)
    horizon: float | None = Field(default=None, gt=0)

    @property
    def value_factor(self) -> float:
        """Value in the manifest unit per unit of effect (1 without a conversion)."""
        factor = 1.0
        for part in (self.value_per_unit, self.units_at_scale, self.horizon):
            factor *= 1.0 if part is None else part
        return factor


def check_run_name(name: str | None) -> str | None:
    """A run name is printable text that does not start or end with a space."""
    if name is None:
        return None
    if name != name.strip():
        raise ValueError("must not start or end with white space")
    if not name.isprintable():
        raise ValueError("must be printable text on one line")
    return name


class ManifestSubmitted(Contract):
    """A validated, fully inlined run: what ``manifest_submitted`` carries."""

    budget: float = Field(gt=0)
    scale_sample_size: int = Field(ge=30, le=MAX_SAMPLE_SIZE)
    max_workers: int = Field(ge=1, le=MAX_WORKERS)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    storage_url: str | None = None
    deadline_s: float | None = Field(default=None, gt=0)
    deadline_policy: Literal["fail", "proceed"] = "proceed"
    measure: StageChoice
    evaluate: StageChoice
    allocate: StageChoice
    initiatives: list[InitiativeSpec] = Field(min_length=1)
    source: str | None = None
    unit: str | None = Field(default=None, min_length=1)
    #: the run's lifecycle (schema 1.2): a human approves the portfolio before it is
    #: scaled (``required``) or it is scaled at once (``none``); a pilot-only run ends at
    #: its allocation; a phase waiting for people ends after its deadline in days
    approval: Approval = "none"
    pilot_only: bool = False
    approval_days: float | None = Field(default=None, gt=0, le=MAX_DEADLINE_DAYS)
    scale_days: float | None = Field(default=None, gt=0, le=MAX_DEADLINE_DAYS)
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)

    @field_validator("name")
    @classmethod
    def _a_visible_name(cls, name: str | None) -> str | None:
        return check_run_name(name)

    @field_validator("initiatives", mode="before")
    @classmethod
    def _not_too_many(cls, specs: Any) -> Any:
        """Counted before any item is validated: an oversized manifest costs nothing."""
        if isinstance(specs, list) and len(specs) > MAX_INITIATIVES:
            raise ValueError(f"at most {MAX_INITIATIVES:,} initiatives, got {len(specs):,}")
        return specs

    @field_validator("initiatives")
    @classmethod
    def _unique_ids(cls, specs: list[InitiativeSpec]) -> list[InitiativeSpec]:
        counts = Counter(spec.initiative_id for spec in specs)
        duplicates = sorted(i for i, n in counts.items() if n > 1)
        if duplicates:
            shown = ", ".join(repr(i) for i in duplicates[:5])
            more = f" and {len(duplicates) - 5} more" if len(duplicates) > 5 else ""
            raise ValueError(f"duplicate initiative ids {shown}{more}")
        return specs


class MeasureCompleted(Contract):
    """One measurement of one initiative, pilot or scale; ``cached``: the result was
    reused from the measure result cache (schema 1.1)."""

    initiative_id: str = Field(min_length=1)
    phase: Phase
    result: MeasureResult
    cached: bool = False

    @model_validator(mode="after")
    def _same_initiative(self) -> MeasureCompleted:
        _check_same_initiative(self.initiative_id, self.result.initiative_id)
        return self


class EvaluateCompleted(Contract):
    """The confidence-scored evaluation of one initiative."""

    initiative_id: str = Field(min_length=1)
    result: EvaluateResult

    @model_validator(mode="after")
    def _same_initiative(self) -> EvaluateCompleted:
        _check_same_initiative(self.initiative_id, self.result.initiative_id)
        return self


class AllocateCompleted(Contract):
    """The portfolio of one run."""

    result: AllocateResult


class StageFailed(Contract):
    """A command that could not be completed: its stage, initiative (none for allocate)
    and the reason."""

    stage: FailedStage
    initiative_id: str | None = Field(default=None, min_length=1)
    phase: Phase | None = None
    reason: str
    error_type: str

    @model_validator(mode="after")
    def _initiative_when_per_initiative(self) -> StageFailed:
        if self.stage != "allocate" and self.initiative_id is None:
            raise ValueError(f"initiative_id: required for a {self.stage} failure")
        return self


class RunCommand(Contract):
    """A person's decision on a run: ``approve`` its portfolio (``drop``: initiatives
    taken out, which re-runs the allocation without them), ``reject`` it, or give one
    selected initiative's ``scale`` data (``measure_config``: the measure config the scale
    measurement runs with). ``actor`` is who decided; the envelope's ``produced_at`` when."""

    action: CommandAction
    actor: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)
    drop: list[str] = Field(default_factory=list, max_length=MAX_INITIATIVES)
    initiative_id: str | None = Field(default=None, min_length=1)
    measure_config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fields_of_action(self) -> RunCommand:
        if self.action == "scale":
            if self.initiative_id is None:
                raise ValueError("initiative_id: required for a scale command")
            if not self.measure_config:
                raise ValueError("measure_config: required for a scale command")
        elif self.initiative_id is not None or self.measure_config:
            raise ValueError(f"initiative_id/measure_config: only for scale, not {self.action}")
        if self.drop and self.action != "approve":
            raise ValueError(f"drop: only for approve, not {self.action}")
        return self


def _check_same_initiative(initiative_id: str, in_result: str) -> None:
    if in_result != initiative_id:
        raise ValueError(f"result.initiative_id: {in_result!r} differs from {initiative_id!r}")


#: Event name → the contract of its payload.
PAYLOAD_CONTRACTS: dict[str, type[Contract]] = {
    "manifest_submitted": ManifestSubmitted,
    "measure_completed": MeasureCompleted,
    "evaluate_completed": EvaluateCompleted,
    "allocate_completed": AllocateCompleted,
    "stage_failed": StageFailed,
    "run_command": RunCommand,
}
