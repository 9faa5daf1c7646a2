"""The runs list: one row per run from the events of every run (pure, no Kafka)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from impact_dashboard.model import StageProgress, stage_progress

#: The events the runs list reads, for every run.
LIST_EVENTS = ("manifest_submitted", "run_status", "run_completed", "stage_failed")


@dataclass(frozen=True)
class RunRow:
    run_id: str
    status: str
    started_at: datetime | None
    budget: float | None
    n_initiatives: int | None
    stages: list[StageProgress]
    n_failed: int
    name: str | None = None
    #: ``kafka`` (read from the topics) or ``embedded`` (``impact run``, the local history)
    mode: str = "kafka"

    @property
    def current(self) -> StageProgress | None:
        """The stage the run is at (the last one reported)."""
        return self.stages[-1] if self.stages else None


def run_rows(events: list[tuple[str, dict[str, Any]]], mode: str = "kafka") -> list[RunRow]:
    """Rows for ``events`` of any number of runs, newest start first."""
    per_run: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name, value in events:
        per_run.setdefault(value["run_id"], {}).setdefault(name, []).append(value)
    rows = [_row(run_id, by_name, mode) for run_id, by_name in per_run.items()]
    return sort_rows(rows)


def sort_rows(rows: list[RunRow]) -> list[RunRow]:
    """Newest start first; runs not seen starting last."""
    return sorted(rows, key=lambda r: (r.started_at is None, _timestamp(r)), reverse=False)


def _timestamp(row: RunRow) -> float:
    return -row.started_at.timestamp() if row.started_at else 0.0


def _row(run_id: str, by_name: dict[str, list[dict[str, Any]]], mode: str) -> RunRow:
    manifest = next(iter(by_name.get("manifest_submitted", [])), None)
    completed = next(iter(by_name.get("run_completed", [])), None)
    failed = {(f.get("initiative_id"), f["stage"]) for f in by_name.get("stage_failed", [])}
    return RunRow(
        run_id=run_id,
        status=completed["status"] if completed else "running",
        started_at=manifest["produced_at"] if manifest else None,
        budget=manifest["budget"] if manifest else None,
        n_initiatives=len(manifest["initiatives"]) if manifest else None,
        stages=stage_progress(by_name.get("run_status", [])),
        n_failed=completed["summary"]["n_failed"] if completed else len(failed),
        name=manifest.get("name") if manifest else None,
        mode=mode,
    )
