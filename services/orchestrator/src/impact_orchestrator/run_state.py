"""Serialisable state of one run; the transitions live in ``transitions``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from impact_orchestrator.barrier import Barrier
from impact_orchestrator.commands import Command, measure_requested, run_status
from impact_orchestrator.deadline import Deadline
from impact_orchestrator.dedup import Seen

RunStage = Literal["pilot", "allocate", "scale", "done"]
RunStatus = Literal["running", "completed", "failed"]


class RunState(BaseModel):
    """Everything the orchestrator knows about a run; JSON for the compacted changelog."""

    run_id: str
    manifest: dict[str, Any]
    started_at: float
    stage: RunStage = "pilot"
    status: RunStatus = "running"
    reason: str | None = None
    deadline: Deadline = Deadline()
    measured: Barrier = Barrier()
    evaluated: Barrier = Barrier()
    scaled: Barrier = Barrier()
    pilots: dict[str, dict[str, Any]] = {}
    evaluations: dict[str, dict[str, Any]] = {}
    allocation: dict[str, Any] | None = None
    scales: dict[str, dict[str, Any]] = {}
    failures: list[dict[str, Any]] = []
    missing: list[str] = []
    seen: Seen = Seen()
    result: dict[str, Any] | None = None

    @classmethod
    def start(
        cls, manifest: dict[str, Any], run_id: str, now: float
    ) -> tuple[RunState, list[Command]]:
        """A new run from a ``manifest_submitted`` payload: one pilot measure per initiative."""
        ids = [spec["initiative_id"] for spec in manifest["initiatives"]]
        state = cls(
            run_id=run_id,
            manifest=manifest,
            started_at=now,
            deadline=Deadline.start(
                manifest.get("deadline_s"), manifest.get("deadline_policy", "proceed"), now
            ),
            measured=Barrier(expected=ids),
            evaluated=Barrier(expected=ids),
        )
        commands = [
            measure_requested(run_id, manifest, spec, "pilot") for spec in manifest["initiatives"]
        ]
        commands.append(run_status(run_id, "measure", state.measured.progress()))
        return state, commands

    @property
    def done(self) -> bool:
        return self.stage == "done"

    def evolve(self) -> RunState:
        """The copy a transition works on: containers copied one level deep, while the
        manifest and stored results, which transitions never mutate, are shared. A deep copy
        made every result of a 1,000-initiative run cost ~70 ms."""

        def barrier(b: Barrier) -> Barrier:
            return b.model_copy(update={"expected": list(b.expected), "settled": set(b.settled)})

        seen = self.seen
        return self.model_copy(
            update={
                "deadline": self.deadline.model_copy(),
                "measured": barrier(self.measured),
                "evaluated": barrier(self.evaluated),
                "scaled": barrier(self.scaled),
                "pilots": dict(self.pilots),
                "evaluations": dict(self.evaluations),
                "scales": dict(self.scales),
                "failures": list(self.failures),
                "missing": list(self.missing),
                "seen": seen.model_copy(
                    update={"keys": set(seen.keys), "ignored": dict(seen.ignored)}
                ),
            }
        )

    def spec(self, initiative_id: str) -> dict[str, Any]:
        """The manifest entry of ``initiative_id``."""
        return next(s for s in self.manifest["initiatives"] if s["initiative_id"] == initiative_id)

    def record_failure(self, initiative_id: str, stage: str, reason: str) -> None:
        self.failures.append({"initiative_id": initiative_id, "stage": stage, "reason": reason})

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> RunState:
        return cls.model_validate_json(text)
