"""Commands: the logical events the state machine asks its host to publish."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from impact_contracts import InitiativeSpec, ManifestSubmitted

RunStatusState = Literal["running", "completed", "failed"]
#: EVALUATE kwargs only the cohort step reads (at the evaluate barrier, from the manifest):
#: not sent with each initiative's command
COHORT_ONLY = frozenset({"earlier_pilots"})


@dataclass(frozen=True)
class Command:
    """One outgoing event: name from docs/interfaces.md, Kafka key, payload after the
    envelope (the host adds ``schema_version``, ``run_id``, ``event_id``, ``causation_id``,
    ``produced_at``)."""

    event: str
    key: str
    payload: dict[str, Any]


def initiative_key(run_id: str, initiative_id: str) -> str:
    return f"{run_id}:{initiative_id}"


def measure_requested(
    run_id: str, manifest: ManifestSubmitted, spec: InitiativeSpec, phase: str
) -> Command:
    return Command(
        "measure_requested",
        initiative_key(run_id, spec.initiative_id),
        {
            "initiative_id": spec.initiative_id,
            "phase": phase,
            "component": manifest.measure.component,
            "component_kwargs": manifest.measure.kwargs,
            "measure_config": spec.measure_config,
            "sample_size": manifest.scale_sample_size if phase == "scale" else None,
            "seed": manifest.seed,
        },
    )


def evaluate_requested(
    run_id: str, manifest: ManifestSubmitted, spec: InitiativeSpec, measure: dict[str, Any]
) -> Command:
    return Command(
        "evaluate_requested",
        initiative_key(run_id, spec.initiative_id),
        {
            "initiative_id": spec.initiative_id,
            "cost_to_scale": spec.cost_to_scale,
            "component": manifest.evaluate.component,
            "component_kwargs": {
                k: v for k, v in manifest.evaluate.kwargs.items() if k not in COHORT_ONLY
            },
            "measure": measure,
        },
    )


def allocate_requested(
    run_id: str, manifest: ManifestSubmitted, evaluations: list[dict[str, Any]]
) -> Command:
    return Command(
        "allocate_requested",
        run_id,
        {
            "budget": manifest.budget,
            "component": manifest.allocate.component,
            "component_kwargs": manifest.allocate.kwargs,
            "initiatives": evaluations,
        },
    )


def run_status(
    run_id: str,
    stage: str,
    progress: tuple[int, int],
    state: RunStatusState = "running",
    message: str | None = None,
) -> Command:
    completed, total = progress
    text = message or f"[{completed}/{total}] {stage}"
    return Command(
        "run_status",
        run_id,
        {"stage": stage, "completed": completed, "total": total, "state": state, "message": text},
    )


def run_completed(run_id: str, payload: dict[str, Any]) -> Command:
    return Command("run_completed", run_id, payload)
