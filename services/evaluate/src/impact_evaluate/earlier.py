"""Pilots of earlier runs that the cohort's prior is also fitted on (decision 0094).

A record is one earlier pilot: ``estimate``, ``ci_lower`` and ``ci_upper`` (its 95 % CI, in
its outcome unit), optionally ``model_type`` (its design, for the per-family priors) and
the value model ``value_per_unit``/``units_at_scale``/``horizon`` that turns it into the
manifest's unit, as for initiatives; ``initiative_id`` and ``run_id`` may label it.
``check_records`` lists every problem; ``earlier_pilots`` turns valid records into
``EarlierPilot`` values in the manifest's unit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from impact_contracts import ConfigError

#: half-width of a 95 % normal interval in standard errors
Z95 = 1.959963984540054
REQUIRED = ("estimate", "ci_lower", "ci_upper")
VALUE_MODEL = ("value_per_unit", "units_at_scale", "horizon")
LABELS = ("initiative_id", "run_id")
ACCEPTED = (*REQUIRED, "model_type", *VALUE_MODEL, *LABELS)
#: the most earlier pilots a manifest may carry (they travel in ``manifest_submitted``)
MAX_EARLIER = 50_000


def value_factor(spec: Mapping[str, Any]) -> float:
    """Value in the manifest unit per unit of effect: value_per_unit x units_at_scale x
    horizon, each 1 when absent (an initiative's spec or an earlier pilot's record)."""
    return math.prod(float(spec.get(key) or 1.0) for key in VALUE_MODEL)


class EarlierPilot(NamedTuple):
    """One earlier pilot in the manifest's unit; ``model_type`` ``None``: design unknown."""

    estimate: float
    standard_error: float
    model_type: str | None = None


class Problem(NamedTuple):
    """What is wrong with record ``row`` (0-based), at ``key`` (empty: the whole record)."""

    row: int
    key: str
    reason: str


def _number(value: Any) -> float | None:
    """``value`` as a finite float, else ``None`` (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _record_problems(row: int, record: Any) -> list[Problem]:
    if not isinstance(record, Mapping):
        return [Problem(row, "", "must be a mapping with estimate, ci_lower and ci_upper")]
    problems = [
        Problem(row, str(key), f"unknown key (accepted: {', '.join(ACCEPTED)})")
        for key in record
        if key not in ACCEPTED
    ]
    for key in REQUIRED:
        if key not in record or record[key] is None:
            problems.append(Problem(row, key, "required key is missing"))
        elif _number(record[key]) is None:
            problems.append(Problem(row, key, f"must be a finite number, got {record[key]!r}"))
    for key in VALUE_MODEL:
        value = record.get(key)
        if value is not None and not (_number(value) or 0.0) > 0.0:
            problems.append(Problem(row, key, f"must be a finite number > 0, got {value!r}"))
    model_type = record.get("model_type")
    if model_type is not None and not (isinstance(model_type, str) and model_type):
        problems.append(Problem(row, "model_type", "must be a non-empty string"))
    if not problems:
        lower, upper = float(record["ci_lower"]), float(record["ci_upper"])
        if lower > upper:
            problems.append(Problem(row, "ci_lower", f"{lower:g} > ci_upper {upper:g}"))
    return problems


def check_records(records: Any) -> list[Problem]:
    """Every problem of ``records`` (a list of mappings), in row order."""
    if not isinstance(records, Sequence) or isinstance(records, str | bytes):
        return [Problem(-1, "", "must be a path or a list of records")]
    if len(records) > MAX_EARLIER:
        return [Problem(-1, "", f"must have at most {MAX_EARLIER} records, got {len(records)}")]
    return [
        problem for row, record in enumerate(records) for problem in _record_problems(row, record)
    ]


def describe(problem: Problem) -> str:
    """``[3].ci_lower: 5 > ci_upper 2``: the record's index, its key and the reason."""
    where = "" if problem.row < 0 else f"[{problem.row}]"
    key = f".{problem.key}" if problem.key else ""
    return f"{where}{key}: {problem.reason}"


def earlier_pilots(records: Iterable[Mapping[str, Any]] | Any) -> tuple[EarlierPilot, ...]:
    """The earlier pilots of ``records`` in the manifest's unit: estimate and standard error
    ``(ci_upper - ci_lower) / (2 * 1.96)``, each times the value model's factor.

    Raises:
        ConfigError: ``earlier_pilots[3].ci_lower: 5 > ci_upper 2`` for the first problem.
    """
    records = list(records) if not isinstance(records, Sequence) else records
    problems = check_records(records)
    if problems:
        raise ConfigError(f"earlier_pilots{describe(problems[0])}")
    pilots = []
    for record in records:
        factor = value_factor(record)
        lower, upper = float(record["ci_lower"]), float(record["ci_upper"])
        pilots.append(
            EarlierPilot(
                float(record["estimate"]) * factor,
                (upper - lower) / (2.0 * Z95) * factor,
                record.get("model_type"),
            )
        )
    return tuple(pilots)
