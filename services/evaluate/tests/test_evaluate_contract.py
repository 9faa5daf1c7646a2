"""Contract violations on the way in are rejected with messages naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from impact_contracts import ContractViolation
from impact_evaluate import Evaluate


def valid() -> dict[str, Any]:
    return {
        "initiative_id": "a",
        "cost_to_scale": 2.0,
        "measure": {
            "initiative_id": "a",
            "model_type": "experiment",
            "effect_estimate": 1.0,
            "ci_lower": 0.5,
            "ci_upper": 1.5,
            "sample_size": 100,
        },
    }


def broken(path: str, value: Any) -> dict[str, Any]:
    data = valid()
    *parents, leaf = path.split(".")
    target = data
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[leaf]
    else:
        target[leaf] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("cost_to_scale", 0.0, "cost_to_scale"),
        ("cost_to_scale", KeyError, "cost_to_scale"),
        ("initiative_id", "", "initiative_id"),
        ("measure.sample_size", 10, "measure.sample_size"),
        ("measure.model_type", "astrology", "measure.model_type"),
        ("measure.effect_estimate", 9.0, "effect_estimate"),
        ("measure.ci_upper", float("nan"), "measure.ci_upper"),
        ("measure.initiative_id", "b", "measure.initiative_id"),
        ("surprise", 1, "surprise"),
    ],
)
def test_violation_names_the_field(path: str, value: Any, fragment: str) -> None:
    with pytest.raises(ContractViolation, match=fragment.replace(".", r"\.")):
        Evaluate().execute(broken(path, value))


def test_contract_violation_is_permanent() -> None:
    with pytest.raises(ContractViolation) as info:
        Evaluate().execute(broken("measure.sample_size", 1))
    assert info.value.retriable is False


def test_the_evaluate_service_scores_on_its_event_loop() -> None:
    """Evaluate's handler says it returns at once; the service runs it without a thread hop,
    and a handler that does not say so (measure's) keeps the worker thread."""
    from impact_evaluate.handler import EvaluateHandler
    from impact_measure.handler import MeasureHandler
    from impact_runtime import Service, ServiceSettings
    from impact_runtime.stage import stage_handler

    def service(handler: object) -> Service:
        settings = ServiceSettings(service_name="unit", bootstrap_servers="127.0.0.1:1")
        return Service(settings, ["x_requested"], stage_handler(handler))  # type: ignore[arg-type]

    assert service(EvaluateHandler()).handler_in_thread is False
    assert service(MeasureHandler()).handler_in_thread is True
