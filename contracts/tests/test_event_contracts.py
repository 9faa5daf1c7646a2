"""Payload contracts of the consumed events: each invariant rejects with the field named."""

from __future__ import annotations

from typing import Any

import pytest
from impact_contracts import (
    PAYLOAD_CONTRACTS,
    EvaluateCompleted,
    ManifestSubmitted,
    MeasureCompleted,
    StageFailed,
)
from impact_contracts.events import MAX_INITIATIVES, MAX_SAMPLE_SIZE, MAX_SEED, MAX_WORKERS
from pydantic import ValidationError

STAGE = {"component": "Measure", "kwargs": {}}


def manifest(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "budget": 100.0,
        "scale_sample_size": 500,
        "max_workers": 2,
        "seed": 7,
        "storage_url": None,
        "deadline_s": None,
        "deadline_policy": "proceed",
        "measure": STAGE,
        "evaluate": STAGE,
        "allocate": STAGE,
        "initiatives": [
            {"initiative_id": i, "cost_to_scale": 10.0, "measure_config": {}} for i in "ab"
        ],
        "source": None,
    }
    payload.update(changes)
    return payload


def problems(contract: Any, payload: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        contract.model_validate(payload, strict=True)
    return [(".".join(map(str, e["loc"])), e["type"]) for e in info.value.errors()]


def test_a_valid_manifest_passes_strictly() -> None:
    assert ManifestSubmitted.model_validate(manifest(), strict=True).budget == 100.0


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"budget": -5.0}, [("budget", "greater_than")]),
        ({"budget": float("nan")}, [("budget", "finite_number")]),
        ({"scale_sample_size": 10}, [("scale_sample_size", "greater_than_equal")]),
        ({"scale_sample_size": MAX_SAMPLE_SIZE + 1}, [("scale_sample_size", "less_than_equal")]),
        ({"max_workers": MAX_WORKERS + 1}, [("max_workers", "less_than_equal")]),
        ({"seed": MAX_SEED + 1}, [("seed", "less_than_equal")]),
        ({"seed": -1}, [("seed", "greater_than_equal")]),
        ({"deadline_s": 0.0}, [("deadline_s", "greater_than")]),
        ({"deadline_policy": "wait"}, [("deadline_policy", "literal_error")]),
        ({"budget": "100"}, [("budget", "float_type")]),
        ({"measure": {"component": "", "kwargs": {}}}, [("measure.component", "string_too_short")]),
        ({"initiatives": []}, [("initiatives", "too_short")]),
        ({"extra": 1}, [("extra", "extra_forbidden")]),
    ],
)
def test_manifest_invariants(changes: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert problems(ManifestSubmitted, manifest(**changes)) == expected


def test_duplicate_ids_and_bad_costs_are_named() -> None:
    spec = {"initiative_id": "a", "cost_to_scale": 10.0, "measure_config": {}}
    free = {"initiative_id": "b", "cost_to_scale": 0.0, "measure_config": {}}
    with pytest.raises(ValidationError) as info:
        ManifestSubmitted.model_validate(manifest(initiatives=[spec, spec]), strict=True)
    assert "duplicate initiative ids 'a'" in str(info.value)
    assert problems(ManifestSubmitted, manifest(initiatives=[spec, free])) == [
        ("initiatives.1.cost_to_scale", "greater_than")
    ]


def test_too_many_initiatives() -> None:
    specs = [
        {"initiative_id": str(i), "cost_to_scale": 1.0, "measure_config": {}}
        for i in range(MAX_INITIATIVES + 1)
    ]
    assert problems(ManifestSubmitted, manifest(initiatives=specs)) == [
        ("initiatives", "value_error")
    ]
    with pytest.raises(ValidationError, match="at most 100,000 initiatives, got 100,001"):
        ManifestSubmitted.model_validate(manifest(initiatives=specs))


RESULT = {
    "initiative_id": "a",
    "model_type": "experiment",
    "effect_estimate": 2.0,
    "ci_lower": 1.0,
    "ci_upper": 3.0,
    "p_value": None,
    "sample_size": 100,
    "diagnostics": {},
}


def test_a_result_must_be_about_its_initiative() -> None:
    payload = {"initiative_id": "b", "phase": "pilot", "result": RESULT}
    with pytest.raises(ValidationError, match=r"result.initiative_id: 'a' differs from 'b'"):
        MeasureCompleted.model_validate(payload, strict=True)
    assert problems(MeasureCompleted, {**payload, "initiative_id": "a", "phase": "pre"}) == [
        ("phase", "literal_error")
    ]
    bad_ci = {**RESULT, "effect_estimate": 9.0}
    with pytest.raises(ValidationError, match=r"effect_estimate: 9\.0 must lie within"):
        MeasureCompleted.model_validate({**payload, "initiative_id": "a", "result": bad_ci})
    evaluation = {"initiative_id": "a", "result": {"initiative_id": "a", "confidence": 1.5}}
    assert ("result.confidence", "less_than_equal") in problems(EvaluateCompleted, evaluation)


def test_a_stage_failure_names_its_initiative_unless_it_is_allocate() -> None:
    failure = {"stage": "measure", "initiative_id": None, "phase": "pilot"}
    failure |= {"reason": "", "error_type": "ComponentError"}
    with pytest.raises(ValidationError, match="initiative_id: required for a measure failure"):
        StageFailed.model_validate(failure, strict=True)
    assert StageFailed.model_validate({**failure, "stage": "allocate", "phase": None}).reason == ""
    assert problems(StageFailed, {**failure, "stage": "report"}) == [("stage", "literal_error")]


def test_every_consumed_event_has_a_contract() -> None:
    assert sorted(PAYLOAD_CONTRACTS) == [
        "allocate_completed",
        "evaluate_completed",
        "manifest_submitted",
        "measure_completed",
        "run_command",
        "stage_failed",
    ]


def test_a_run_command_carries_the_fields_of_its_action() -> None:
    from impact_contracts import RunCommand

    approve = {"action": "approve", "actor": "alice", "drop": ["b"], "note": "b is too risky"}
    assert RunCommand.model_validate(approve, strict=True).drop == ["b"]
    with pytest.raises(ValidationError, match="initiative_id: required for a scale command"):
        RunCommand.model_validate({"action": "scale", "actor": "alice"}, strict=True)
    with pytest.raises(ValidationError, match="drop: only for approve, not reject"):
        RunCommand.model_validate({"action": "reject", "actor": "a", "drop": ["b"]}, strict=True)
    assert problems(RunCommand, {**approve, "action": "pause"}) == [("action", "literal_error")]
