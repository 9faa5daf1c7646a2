"""In-memory fake stage components (deterministic, instant) and manifest helpers."""

from __future__ import annotations

import threading
from typing import Any

from impact_contracts import ComponentCatalog, ComponentError
from impact_orchestrator.manifest import Catalogs

MEASURE = ComponentCatalog("measure")
#: Set to let measurements that ``hang`` return (a straggler never answers before it).
RELEASE_HANGING = threading.Event()
EVALUATE = ComponentCatalog("evaluate")
ALLOCATE = ComponentCatalog("allocate")


@MEASURE.register("Measure")
class FakeMeasure:
    """Effect = ``PARAMS.effect`` (pilot) or ``PARAMS.scale_effect`` (scale), CI ±1;
    raises ``ComponentError`` in the phase named by ``PARAMS.fail``, an ``IndexError`` (a
    bug) in the phase named by ``PARAMS.bug``; blocks until ``RELEASE_HANGING`` in the
    phase named by ``PARAMS.hang``."""

    def __init__(self, data_root: str | None = None) -> None:
        self.data_root = data_root

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        params = event["measure_config"]["MEASUREMENT"].get("PARAMS", {})
        if params.get("fail") == event["phase"]:
            raise ComponentError(f"cannot measure {event['initiative_id']}")
        if params.get("bug") == event["phase"]:
            return [event][1]
        if params.get("hang") == event["phase"]:
            RELEASE_HANGING.wait(timeout=300)
            raise ComponentError(f"{event['initiative_id']} answered too late")
        pilot = float(params.get("effect", 1.0))
        effect = pilot if event["phase"] == "pilot" else float(params.get("scale_effect", pilot))
        return {
            "initiative_id": event["initiative_id"],
            "model_type": event["measure_config"]["MEASUREMENT"]["MODEL"],
            "effect_estimate": effect,
            "ci_lower": effect - 1.0,
            "ci_upper": effect + 1.0,
            "p_value": None,
            "sample_size": event["sample_size"] or 100,
            "n_treated": None,
            "n_control": None,
            "n_pre": None,
            "n_post": None,
            "diagnostics": {"seed": event["seed"]},
        }


@EVALUATE.register("Evaluate")
class FakeEvaluate:
    def __init__(self, confidence: float = 0.5, estimates: str = "posterior") -> None:
        self.confidence = confidence

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        measure = event["measure"]
        return {
            "initiative_id": event["initiative_id"],
            "confidence": self.confidence,
            "cost": event["cost_to_scale"],
            "return_best": measure["ci_upper"],
            "return_median": measure["effect_estimate"],
            "return_worst": measure["ci_lower"],
            "model_type": measure["model_type"],
            "sample_size": measure["sample_size"],
        }


@ALLOCATE.register("MinimaxRegretAllocate")
class FakeAllocate:
    """Greedy: highest median return first (ties by id) while the cost fits the budget."""

    def __init__(self, min_confidence_threshold: float = 0.0) -> None:
        self.min_confidence_threshold = min_confidence_threshold

    def execute(self, event: dict[str, Any]) -> dict[str, Any]:
        budget, left, chosen = event["budget"], event["budget"], []
        ranked = sorted(
            event["initiatives"], key=lambda i: (-i["return_median"], i["initiative_id"])
        )
        for item in ranked:
            if item["confidence"] >= self.min_confidence_threshold and item["cost"] <= left:
                chosen.append(item)
                left -= item["cost"]
        return {
            "selected_initiatives": [i["initiative_id"] for i in chosen],
            "budget_allocated": {i["initiative_id"]: i["cost"] for i in chosen},
            "predicted_returns": {i["initiative_id"]: i["return_median"] for i in chosen},
            "budget": budget,
            "rule": "greedy",
            "solver_status": "Optimal",
            "objective": None,
            "mip_gap": 0.0,
            "reason": None if chosen else "no initiative fits the budget",
        }


@ALLOCATE.register("Allocate")
class FakeRuleAllocate(FakeAllocate):
    def __init__(self, rule: str = "minimax_regret") -> None:
        if rule not in ("minimax_regret", "bayesian"):
            raise ValueError(f"rule: unknown rule {rule!r}")
        super().__init__()
        self.rule = rule


FAKE_CATALOGS = Catalogs(MEASURE, EVALUATE, ALLOCATE)


def measure_config(model: str = "experiment", **params: Any) -> dict[str, Any]:
    """A minimal valid inline measure config."""
    return {
        "DATA": {"SOURCE": {"type": "simulator", "CONFIG": {"seed": 1}}},
        "MEASUREMENT": {"MODEL": model, "PARAMS": params},
    }


def four_initiatives() -> list[dict[str, Any]]:
    """Initiatives a to d of the fake manifests: each measures its (pilot, scale) effect."""
    effects = {"a": (2.0, 2.5), "b": (1.0, 1.0), "c": (3.0, 2.0), "d": (0.5, 0.4)}
    return [
        {
            "initiative_id": i,
            "cost_to_scale": cost,
            "measure_config": measure_config(effect=pilot, scale_effect=scale),
        }
        for (i, (pilot, scale)), cost in zip(effects.items(), [10.0, 20.0, 25.0, 5.0], strict=True)
    ]
