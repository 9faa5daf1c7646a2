"""Serialisable state of one run; the transitions live in ``transitions``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from impact_contracts import InitiativeSpec, ManifestSubmitted
from impact_contracts.models import AllocateResult, EvaluateResult, InitiativeFailure, MeasureResult
from pydantic import BaseModel, PrivateAttr, field_validator

from impact_orchestrator.barrier import Barrier
from impact_orchestrator.commands import Command, measure_requested, run_status
from impact_orchestrator.deadline import Deadline
from impact_orchestrator.dedup import IgnoredReason, Seen

RunStage = Literal["pilot", "allocate", "approval", "scale", "done"]
RunStatus = Literal["running", "completed", "failed"]
#: what people decided on the portfolio (``None``: nobody yet, or no approval asked)
Verdict = Literal["approved", "amended", "rejected"]
#: fields a transition assigns (a barrier is replaced only by a new, empty one)
_SCALARS = ("stage", "status", "reason", "allocation", "result", "verdict", "due")
#: containers a transition only adds to: a dict never gets a key twice (the barriers see to
#: it), so removing the newest entries undoes the additions
_GROWING = (
    "pilots",
    "evaluations",
    "scales",
    "failures",
    "missing",
    "cached",
    "decisions",
    "scale_configs",
)


class Decision(BaseModel):
    """One ``run_command`` as the run took it: applied (``refused`` is ``None``) or
    refused with the reason; ``selected``: the portfolio an approve or reject decided on."""

    action: str
    actor: str
    at: float
    sent_at: str | None = None
    note: str | None = None
    drop: list[str] = []
    initiative_id: str | None = None
    refused: str | None = None
    selected: list[str] | None = None


@dataclass(frozen=True)
class Mark:
    """What :meth:`RunState.restore` needs: assigned fields, and the sizes of what grows."""

    fields: dict[str, Any]
    deadline: Deadline
    ignored: dict[IgnoredReason, int]
    barriers: tuple[tuple[Barrier, int], ...]
    sizes: tuple[int, ...]
    seen: int

    def size(self, name: str) -> int:
        """The size ``name`` (``pilots``, ``failures``, …) had when the mark was taken."""
        return self.sizes[_GROWING.index(name)]


@dataclass
class Positions:
    """Where each initiative's entries sit in a list that only grows or is truncated
    (``failures``, ``missing``), so a changelog record of one initiative finds its own
    entries without scanning the list."""

    by_id: dict[str, list[int]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def add(self, initiative_id: str) -> None:
        self.by_id.setdefault(initiative_id, []).append(len(self.order))
        self.order.append(initiative_id)

    def truncate(self, size: int) -> None:
        while len(self.order) > size:
            initiative_id = self.order.pop()
            positions = self.by_id[initiative_id]
            positions.pop()
            if not positions:
                del self.by_id[initiative_id]

    def of(self, initiative_id: str) -> list[int]:
        return self.by_id.get(initiative_id, [])


def _truncate(container: dict[str, Any] | list[Any], size: int) -> None:
    """Drop the newest entries down to ``size`` (dicts keep insertion order)."""
    if isinstance(container, list):
        del container[size:]
        return
    while len(container) > size:
        container.popitem()


class RunState(BaseModel):
    """Everything the orchestrator knows about a run; JSON for the compacted changelog."""

    run_id: str
    #: the validated manifest; ``None`` for a run whose manifest broke its contract (it
    #: ends at once; an older changelog holds ``{}`` for it)
    manifest: ManifestSubmitted | None
    started_at: float
    stage: RunStage = "pilot"
    status: RunStatus = "running"
    reason: str | None = None
    deadline: Deadline = Deadline()
    measured: Barrier = Barrier()
    evaluated: Barrier = Barrier()
    scaled: Barrier = Barrier()
    #: the validated results, by initiative (dicts only at the cohort step, the report and
    #: changelog boundaries)
    pilots: dict[str, MeasureResult] = {}
    evaluations: dict[str, EvaluateResult] = {}
    #: the portfolio (the validated contract; a dict at the report and changelog boundary)
    allocation: AllocateResult | None = None
    scales: dict[str, MeasureResult] = {}
    failures: list[InitiativeFailure] = []
    missing: list[str] = []
    #: ``initiative_id:phase`` of every accepted result that came from the measure cache
    cached: list[str] = []
    seen: Seen = Seen()
    result: dict[str, Any] | None = None
    #: the portfolio's approval: approved, amended (approved without some initiatives) or
    #: rejected; every decision and command refused, in order (who, when, what changed)
    verdict: Verdict | None = None
    decisions: list[Decision] = []
    #: measure configs of scale data given after the run started, by initiative
    scale_configs: dict[str, dict[str, Any]] = {}
    #: when the phase waiting for people (approval, scale data) ends (epoch seconds)
    due: float | None = None
    _specs: dict[str, InitiativeSpec] = PrivateAttr(default_factory=dict)
    _cohort: dict[str, Any] | None = PrivateAttr(default=None)
    _failures_at: Positions = PrivateAttr(default_factory=Positions)
    _missing_at: Positions = PrivateAttr(default_factory=Positions)

    @field_validator("manifest", mode="before")
    @classmethod
    def _none_when_empty(cls, manifest: Any) -> Any:
        return None if manifest == {} else manifest

    def model_post_init(self, context: Any, /) -> None:
        specs = self.manifest.initiatives if self.manifest else []
        self._specs = {spec.initiative_id: spec for spec in specs}
        for failure in self.failures:
            self._failures_at.add(failure.initiative_id)
        for initiative_id in self.missing:
            self._missing_at.add(initiative_id)

    def __eq__(self, other: object) -> bool:
        """Equal fields: the private attributes are indexes and caches derived from them."""
        if not isinstance(other, RunState):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, as every non-frozen model

    @classmethod
    def start(
        cls, payload: dict[str, Any], run_id: str, now: float
    ) -> tuple[RunState, list[Command]]:
        """A new run from a ``manifest_submitted`` payload (checked against its contract):
        one pilot measure per initiative."""
        manifest = ManifestSubmitted.model_validate(payload)
        ids = [spec.initiative_id for spec in manifest.initiatives]
        state = cls(
            run_id=run_id,
            manifest=manifest,
            started_at=now,
            deadline=Deadline.start(manifest.deadline_s, manifest.deadline_policy, now),
            measured=Barrier(expected=ids),
            evaluated=Barrier(expected=ids),
        )
        commands = [
            measure_requested(run_id, manifest, spec, "pilot") for spec in manifest.initiatives
        ]
        commands.append(run_status(run_id, "measure", state.measured.progress()))
        return state, commands

    @property
    def plan(self) -> ManifestSubmitted:
        """The manifest of a run that has one (every run past its start)."""
        if self.manifest is None:
            raise ValueError(f"run {self.run_id!r} has no valid manifest")
        return self.manifest

    def cohort_settings(self) -> dict[str, Any]:
        """What the cohort step reads of the manifest (``impact_evaluate.cohort.pool_run``
        and ``value_factors`` take the event's dict), built once per run."""
        if self._cohort is None:
            if self.manifest is None:
                self._cohort = {"initiatives": []}
            else:
                self._cohort = self.manifest.model_dump(
                    include={"evaluate", "scale_sample_size"}
                ) | {
                    "initiatives": [
                        spec.model_dump(exclude={"measure_config"})
                        for spec in self.manifest.initiatives
                    ]
                }
        return self._cohort

    @property
    def selected(self) -> list[str]:
        """The allocation's portfolio, sorted (empty before an allocation)."""
        return sorted(self.allocation.selected_initiatives) if self.allocation else []

    @property
    def done(self) -> bool:
        return self.stage == "done"

    @property
    def lifecycle(self) -> str:
        """Where the run is, in the words of docs/orchestrator.md ("Run lifecycle")."""
        if self.stage == "pilot":
            return "measuring"
        if self.stage == "allocate":
            return "amended" if self.verdict == "amended" else "evaluated"
        if self.stage == "approval":
            return "awaiting approval"
        if self.stage == "scale":
            return "awaiting scale data"
        return "rejected" if self.verdict == "rejected" else self.status

    def mark(self) -> Mark:
        """An O(1) snapshot for :meth:`restore`: transitions change a run in place."""
        barriers = (self.measured, self.evaluated, self.scaled)
        return Mark(
            fields={name: getattr(self, name) for name in _SCALARS},
            deadline=self.deadline.model_copy(),
            ignored=dict(self.seen.ignored),
            barriers=tuple((b, b.size()) for b in barriers),
            sizes=tuple(len(getattr(self, name)) for name in _GROWING),
            seen=self.seen.size(),
        )

    def restore(self, mark: Mark) -> None:
        """Undo every change since ``mark`` was taken, in O(changes)."""
        for name, value in mark.fields.items():
            setattr(self, name, value)
        self.deadline = mark.deadline.model_copy()
        self.seen.ignored = dict(mark.ignored)
        self.seen.truncate(mark.seen)
        (self.measured, m), (self.evaluated, e), (self.scaled, s) = mark.barriers
        self.measured.truncate(m)
        self.evaluated.truncate(e)
        self.scaled.truncate(s)
        for name, size in zip(_GROWING, mark.sizes, strict=True):
            _truncate(getattr(self, name), size)
        self._failures_at.truncate(len(self.failures))
        self._missing_at.truncate(len(self.missing))

    def spec(self, initiative_id: str) -> InitiativeSpec:
        """The manifest entry of ``initiative_id``."""
        return self._specs[initiative_id]

    def record_failure(self, initiative_id: str, stage: str, reason: str) -> None:
        failure = InitiativeFailure.model_validate(
            {"initiative_id": initiative_id, "stage": stage, "reason": reason}
        )
        self.failures.append(failure)
        self._failures_at.add(initiative_id)

    def record_missing(self, initiative_ids: list[str]) -> None:
        """Initiatives a deadline gave up on (``summary.missing``)."""
        for initiative_id in initiative_ids:
            self.missing.append(initiative_id)
            self._missing_at.add(initiative_id)

    def failure_positions(self, initiative_id: str) -> list[int]:
        """Indexes of ``initiative_id``'s entries in ``failures``."""
        return self._failures_at.of(initiative_id)

    def missing_positions(self, initiative_id: str) -> list[int]:
        """Indexes of ``initiative_id`` in ``missing``."""
        return self._missing_at.of(initiative_id)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> RunState:
        return cls.model_validate_json(text)
