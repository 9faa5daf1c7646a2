"""The keys a user writes in a manifest file (original names, strict types): what
``load_manifest`` validates before it resolves paths and checks the stages."""

from __future__ import annotations

from typing import Any, Literal

from impact_contracts.events import MAX_DEADLINE_DAYS, MAX_NAME_LENGTH, check_run_name
from pydantic import BaseModel, ConfigDict, Field, field_validator

from impact_orchestrator.manifest.limits import MAX_SAMPLE_SIZE, MAX_SEED, MAX_WORKERS

DEFAULT_SCALE_SAMPLE_SIZE = 5000
DEFAULT_MAX_WORKERS = 4


class InitiativeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    initiative_id: str = Field(min_length=1)
    cost_to_scale: float = Field(gt=0)
    measure_config: Any
    outcome_unit: str | None = Field(default=None, min_length=1)
    value_per_unit: float | None = Field(default=None, gt=0)
    units_at_scale: float | None = Field(default=None, gt=0)
    horizon: float | None = Field(default=None, gt=0)


class Deadlines(BaseModel):
    """Days each phase that waits for people may take (``deadlines:``)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    approval_days: float | None = Field(default=None, gt=0, le=MAX_DEADLINE_DAYS)
    scale_days: float | None = Field(default=None, gt=0, le=MAX_DEADLINE_DAYS)


class ManifestFile(BaseModel):
    """The keys a user writes, with the original names."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    budget: float = Field(gt=0)
    scale_sample_size: int = Field(default=DEFAULT_SCALE_SAMPLE_SIZE, ge=30, le=MAX_SAMPLE_SIZE)
    max_workers: int = Field(default=DEFAULT_MAX_WORKERS, ge=1, le=MAX_WORKERS)
    storage_url: str | None = None
    deadline: float | None = Field(default=None, gt=0)
    deadline_policy: Literal["fail", "proceed"] = "proceed"
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    unit: str | None = Field(default=None, min_length=1)
    approval: Literal["required", "none"] = "none"
    pilot_only: bool = False
    deadlines: Deadlines = Deadlines()
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)
    MEASURE: Any = None
    EVALUATE: Any = None
    ALLOCATE: Any = None
    INITIATIVES: list[InitiativeEntry] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _a_visible_name(cls, name: str | None) -> str | None:
        return check_run_name(name)
