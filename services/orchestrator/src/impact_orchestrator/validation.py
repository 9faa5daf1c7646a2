"""Contract checks of every event the orchestrator consumes: it trusts no producer.

``check_payload`` applies the event's payload contract (``impact_contracts.events``) and,
for a manifest, what the manifest loader checks beyond the contract (registered components
and their kwargs, the layout of each measure config), reusing the loader's own checks.
``as_failure`` says which initiative (or stage) an invalid result reports on, so the run
can record it instead of waiting for it forever.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from impact_contracts import PAYLOAD_CONTRACTS, ContractViolation
from impact_measure.api import check_layout
from pydantic import ValidationError

from impact_orchestrator.manifest.errors import ErrorCollector
from impact_orchestrator.manifest.files import DataRoot
from impact_orchestrator.manifest.stages import Catalogs, check_component

MANIFEST = "manifest_submitted"
MAX_PROBLEMS_SHOWN = 5
_STAGES = (("MEASURE", "measure"), ("EVALUATE", "evaluate"), ("ALLOCATE", "allocate"))


def check_payload(event: str, payload: dict[str, Any], catalogs: Catalogs) -> None:
    """Raise ``ContractViolation`` (one line naming each bad key) if ``payload`` (an event
    value without its envelope) breaks ``event``'s contract."""
    errors = ErrorCollector()
    try:
        PAYLOAD_CONTRACTS[event].model_validate(payload, strict=True)
    except ValidationError as exc:
        errors.add_validation(event, (), exc)
    if event == MANIFEST:
        _check_stages(payload, catalogs, errors)
        _check_measure_configs(payload.get("initiatives"), errors)
    config = payload.get("measure_config") if event == "run_command" else None
    if isinstance(config, dict) and config:
        _check_measure_config(config, event, ("measure_config",), errors)
    if errors.errors:
        problems = [
            e.removeprefix(f"{event}: ").replace("Value error, ", "") for e in errors.errors
        ]
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        raise ContractViolation(
            f"invalid {event}: {shown}" + (f" (+{more} more)" if more > 0 else "")
        )


def check_run_id(value: dict[str, Any]) -> str:
    """The event's ``run_id``; ``ContractViolation`` when it is not a non-empty string."""
    run_id = value.get("run_id")
    if not isinstance(run_id, str) or not run_id.strip():
        raise ContractViolation(f"run_id: must be a non-empty string, got {run_id!r}")
    return run_id


def as_failure(event: str, payload: dict[str, Any], reason: str) -> dict[str, Any] | None:
    """The ``stage_failed`` payload an invalid result stands for, or ``None`` when it names
    no stage and initiative it could fail (then its run fails)."""
    initiative_id = payload.get("initiative_id")
    if not isinstance(initiative_id, str) or not initiative_id:
        initiative_id = None
    phase = payload.get("phase") if payload.get("phase") in ("pilot", "scale") else None
    stage = {
        "measure_completed": "measure",
        "evaluate_completed": "evaluate",
        "allocate_completed": "allocate",
    }.get(event, payload.get("stage") if event == "stage_failed" else None)
    if stage == "allocate":
        initiative_id = phase = None
    elif stage not in ("measure", "evaluate") or initiative_id is None:
        return None
    if stage == "measure" and phase is None:
        return None  # pilot or scale: cannot tell which barrier it belongs to
    return {
        "stage": stage,
        "initiative_id": initiative_id,
        "phase": phase,
        "reason": reason,
        "error_type": ContractViolation.__name__,
    }


def _check_stages(payload: dict[str, Any], catalogs: Catalogs, errors: ErrorCollector) -> None:
    """Each stage names a registered component whose constructor accepts its kwargs."""
    root = DataRoot(Path("/"), errors)  # only collects errors: no file is read
    for section, key in _STAGES:
        stage = payload.get(key)
        if not isinstance(stage, dict) or not isinstance(stage.get("kwargs", {}), dict):
            continue  # the contract already reported it
        kwargs = stage.get("kwargs", {})
        check_component(
            stage.get("component"),
            kwargs,
            catalog=catalogs.for_section(section),
            where=MANIFEST,
            prefix=(key,),
            root=root,
        )


def _check_measure_configs(initiatives: Any, errors: ErrorCollector) -> None:
    """Every inlined measure config has the documented layout."""
    if not isinstance(initiatives, list):
        return
    for index, spec in enumerate(initiatives):
        config = spec.get("measure_config") if isinstance(spec, dict) else None
        if not isinstance(config, dict):
            continue  # the contract already reported it
        _check_measure_config(config, MANIFEST, ("initiatives", index, "measure_config"), errors)


def _check_measure_config(
    config: dict[str, Any], event: str, at: tuple[str | int, ...], errors: ErrorCollector
) -> None:
    try:
        check_layout(config)
    except ValidationError as exc:
        errors.add_validation(event, at, exc)
