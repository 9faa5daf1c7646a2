"""The validated, fully inlined manifest and its ``manifest_submitted`` payload."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from impact_orchestrator.manifest.limits import MAX_SAMPLE_SIZE, MAX_SEED, MAX_WORKERS
from impact_orchestrator.manifest.stages import StageConfig

DeadlinePolicy = Literal["fail", "proceed"]


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Manifests hold no reference cycles, but the cyclic collector rescans every live
    container while millions are created: loading 100,000 initiatives is ~2x faster
    without it (reference counting still frees everything)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class InitiativeSpec(BaseModel):
    """One candidate initiative with its measure config inlined (absolute data paths)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    initiative_id: str = Field(min_length=1)
    cost_to_scale: float = Field(gt=0)
    measure_config: dict[str, Any]

    def as_payload(self) -> dict[str, Any]:
        """The event's ``InitiativeSpec``; the config is shared, not copied (100,000
        deep copies take seconds): treat it as read-only, like the frozen spec."""
        return {
            "initiative_id": self.initiative_id,
            "cost_to_scale": self.cost_to_scale,
            "measure_config": self.measure_config,
        }


class Manifest(BaseModel):
    """A validated run: run-level settings, one component per stage, the initiatives."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    budget: float = Field(gt=0)
    scale_sample_size: int = Field(ge=30, le=MAX_SAMPLE_SIZE)
    max_workers: int = Field(ge=1, le=MAX_WORKERS)
    storage_url: str | None = None
    deadline: float | None = Field(default=None, gt=0)
    deadline_policy: DeadlinePolicy = "proceed"
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    measure: StageConfig
    evaluate: StageConfig
    allocate: StageConfig
    initiatives: list[InitiativeSpec] = Field(min_length=1)
    source: str | None = None

    def to_event_payload(self) -> dict[str, Any]:
        """The ``manifest_submitted`` payload (after the envelope), JSON fields as dicts."""
        with no_cyclic_gc():
            return self._payload()

    def _payload(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "scale_sample_size": self.scale_sample_size,
            "max_workers": self.max_workers,
            "seed": self.seed,
            "storage_url": self.storage_url,
            "deadline_s": self.deadline,
            "deadline_policy": self.deadline_policy,
            "measure": self.measure.model_dump(),
            "evaluate": self.evaluate.model_dump(),
            "allocate": self.allocate.model_dump(),
            "initiatives": [spec.as_payload() for spec in self.initiatives],
            "source": self.source,
        }
