"""A wide run for layout tests: long ids, a long model name and large numbers in every
column, built from the hand-made sample by renaming and scaling."""

from __future__ import annotations

from typing import Any

from dashboard.tests import sample

LONG = "store-cluster-north-west-loyalty-programme-2027-"
SCALE = 123_457.0
KEEP = (
    "confidence",
    "confidence_score",
    "p_value",
    "min_confidence_threshold",
    "probability_positive",
)


def _rename(value: Any) -> Any:
    if isinstance(value, dict):
        return {_rename(k): _rename(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v) for v in value]
    if isinstance(value, str) and len(value) == 1 and value in "abcdef":
        return LONG + value
    return value


def _scale(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _scale(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_scale(v, key) for v in value]
    if isinstance(value, float) and key not in KEEP:
        return value * SCALE - 1_000_000.0 if key.endswith("lower") else value * SCALE
    return value


def events() -> list[tuple[str, dict[str, Any]]]:
    """The sample run with ids 50 characters long and every amount in the millions."""
    out = []
    for name, value in sample.events():
        value = _scale(_rename(value))
        if name == "measure_completed":
            value["result"]["model_type"] = "nearest_neighbour_matching"
        out.append((name, value))
    return out
