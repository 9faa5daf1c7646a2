"""Every consumed event is checked against its contract, with one line naming each bad key;
an invalid result is attributed to the initiative (or stage) it reports on."""

from __future__ import annotations

from typing import Any

import pytest
from impact_contracts import ContractViolation
from impact_orchestrator import RunState
from impact_orchestrator.transitions import apply, reject_input, reject_manifest
from impact_orchestrator.validation import as_failure, check_payload, check_run_id

from services.orchestrator.tests.events import (
    RUN_ID,
    evaluated,
    failed,
    manifest_payload,
    measured,
)
from services.orchestrator.tests.fakes import FAKE_CATALOGS, measure_config


def manifest(**changes: Any) -> dict[str, Any]:
    payload = manifest_payload({"a": 10.0, "b": 20.0})
    for spec in payload["initiatives"]:
        spec["measure_config"] = measure_config()
    payload["allocate"] = {"component": "MinimaxRegretAllocate", "kwargs": {}}
    payload.update(changes)
    return payload


def violation(event: str, payload: dict[str, Any]) -> str:
    with pytest.raises(ContractViolation) as info:
        check_payload(event, payload, FAKE_CATALOGS)
    return str(info.value)


def test_a_valid_manifest_passes() -> None:
    check_payload("manifest_submitted", manifest(), FAKE_CATALOGS)


def test_the_reported_manifest_hang_is_one_line_naming_both_problems() -> None:
    spec = manifest()["initiatives"][0]
    message = violation("manifest_submitted", manifest(budget=-5.0, initiatives=[spec, spec]))
    assert message == (
        "invalid manifest_submitted: budget: must be > 0, got -5; "
        "initiatives: duplicate initiative ids 'a'"
    )


def test_components_and_their_kwargs_are_checked_without_constructing_them() -> None:
    message = violation(
        "manifest_submitted",
        manifest(
            measure={"component": "Nope", "kwargs": {}},
            evaluate={"component": "Evaluate", "kwargs": {"bogus": 1}},
        ),
    )
    assert message == (
        "invalid manifest_submitted: measure.component: unknown component 'Nope' "
        "(known: Measure); evaluate.bogus: unknown argument for Evaluate "
        "(accepted: confidence, estimates)"
    )


def test_each_measure_config_has_the_documented_layout() -> None:
    specs = manifest()["initiatives"]
    specs[1]["measure_config"] = {"DATA": {"SOURCE": {"type": "ftp"}}, "MEASUREMENT": {}}
    message = violation("manifest_submitted", manifest(initiatives=specs))
    assert message == (
        "invalid manifest_submitted: "
        "initiatives[1].measure_config.DATA.SOURCE.type: unknown source type 'ftp'; "
        "must be one of 'dataframe', 'file', 's3', 'simulator', 'sql'; "
        "initiatives[1].measure_config.MEASUREMENT.MODEL: required key is missing"
    )


def test_many_problems_stay_on_one_line() -> None:
    specs = [{"initiative_id": "", "cost_to_scale": -1.0, "measure_config": {}}] * 4
    message = violation("manifest_submitted", manifest(initiatives=specs))
    assert "\n" not in message
    assert message.endswith("(+11 more)")  # 4 x (id, cost, DATA, MEASUREMENT) - 5 shown


def test_result_contracts() -> None:
    wrong_id = {**measured("a", 2.0), "initiative_id": "b"}
    assert violation("measure_completed", wrong_id) == (
        "invalid measure_completed: result.initiative_id: 'a' differs from 'b'"
    )
    evaluation = evaluated("a", 2.0, 10.0)
    evaluation["result"] = {**evaluation["result"], "return_worst": 9.0}
    assert "return_median: requires return_worst (9.0) <= return_median" in violation(
        "evaluate_completed", evaluation
    )
    assert violation("stage_failed", failed("report", "a")) == (
        "invalid stage_failed: stage: must be one of 'measure', 'evaluate' or 'allocate'"
    )
    check_payload("stage_failed", failed("allocate", None), FAKE_CATALOGS)


def test_run_id_must_be_a_non_empty_string() -> None:
    assert check_run_id({"run_id": "r"}) == "r"
    for bad in ({}, {"run_id": ""}, {"run_id": 7}):
        with pytest.raises(ContractViolation, match="run_id: must be a non-empty string"):
            check_run_id(bad)


@pytest.mark.parametrize(
    ("event", "payload", "expected"),
    [
        ("measure_completed", {"initiative_id": "a", "phase": "scale"}, ("measure", "a", "scale")),
        ("measure_completed", {"initiative_id": "a", "phase": "later"}, None),
        ("measure_completed", {"initiative_id": "", "phase": "pilot"}, None),
        ("evaluate_completed", {"initiative_id": "a"}, ("evaluate", "a", None)),
        ("allocate_completed", {"result": {}}, ("allocate", None, None)),
        ("stage_failed", {"stage": "evaluate", "initiative_id": "a"}, ("evaluate", "a", None)),
        ("stage_failed", {"stage": "bogus", "initiative_id": "a"}, None),
    ],
)
def test_an_invalid_result_is_attributed_when_it_can_be(
    event: str, payload: dict[str, Any], expected: tuple[Any, ...] | None
) -> None:
    failure = as_failure(event, payload, "why")
    if expected is None:
        assert failure is None
    else:
        assert failure is not None
        assert (failure["stage"], failure["initiative_id"], failure["phase"]) == expected
        assert (failure["reason"], failure["error_type"]) == ("why", "ContractViolation")


def test_a_rejected_manifest_ends_its_run_at_once() -> None:
    state, commands = reject_manifest(
        RUN_ID, "invalid manifest_submitted: budget: must be > 0", 5.0
    )
    assert state.done and state.status == "failed"
    assert [c.event for c in commands] == ["run_completed", "run_status"]
    completed, status = commands[0].payload, commands[1].payload
    assert completed["status"] == "failed" and completed["reports"] == []
    assert completed["summary"]["reason"] == "invalid manifest_submitted: budget: must be > 0"
    assert (status["state"], status["message"]) == ("failed", completed["summary"]["reason"])


def test_an_invalid_result_fails_its_initiative_and_the_run_goes_on() -> None:
    state, _ = RunState.start(manifest_payload({"a": 10.0, "b": 20.0}), RUN_ID, 0.0)
    state, commands = reject_input(state, "measure_completed", measured("a", 2.0), "bad", 1.0)
    assert [f.model_dump() for f in state.failures] == [
        {"initiative_id": "a", "stage": "measure", "reason": "bad"}
    ]
    assert state.measured.progress() == (1, 2) and not state.done
    # a later valid result for the same initiative is a duplicate, not a second outcome
    state, commands = apply(state, "measure_completed", measured("a", 2.0), 2.0)
    assert commands == [] and state.seen.ignored == {"duplicate": 1}


def test_an_unattributable_input_fails_the_run() -> None:
    state, _ = RunState.start(manifest_payload({"a": 10.0}), RUN_ID, 0.0)
    payload = {"initiative_id": "a", "phase": "later", "result": {}}
    state, commands = reject_input(state, "measure_completed", payload, "bad phase", 1.0)
    assert state.done and state.status == "failed" and state.reason == "bad phase"
    assert [c.event for c in commands] == ["run_completed", "run_status"]
    again, commands = reject_input(state, "measure_completed", payload, "bad phase", 2.0)
    assert commands == [] and again.seen.ignored == {"late": 1}
