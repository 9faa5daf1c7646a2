"""The ``EVALUATE`` kwarg ``earlier_pilots`` at publish: a file (CSV, Parquet, JSON Lines)
relative to the file naming it, or an inline list of records; read, checked row by row
and embedded as records, so embedded and Kafka runs pool the same pilots (decision 0094).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from impact_evaluate.earlier import ACCEPTED, REQUIRED, VALUE_MODEL, Problem, check_records

from impact_orchestrator.manifest.errors import key_path
from impact_orchestrator.manifest.files import DataRoot

KEY = "earlier_pilots"
NUMERIC = frozenset((*REQUIRED, *VALUE_MODEL))
#: a file of earlier pilots may be this large (50,000 pilots as CSV take ~4 MiB)
MAX_BYTES = 32 * 2**20
#: how a file's rows are named in errors: (reader, what a row is called, first row's number)
FORMATS = {
    ".csv": ("csv", "line", 2),
    ".parquet": ("parquet", "row", 1),
    ".jsonl": ("jsonl", "line", 1),
    ".ndjson": ("jsonl", "line", 1),
}


def resolve_earlier(
    value: Any, *, named_by: Path, where: str, prefix: tuple[str, ...], root: DataRoot
) -> list[dict[str, Any]] | None:
    """The records of ``value`` (a path or a list), every problem recorded as
    ``<file>: EVALUATE.earlier_pilots[3].ci_lower: <reason>`` (inline) or
    ``<file>: EVALUATE.earlier_pilots: pilots.csv line 5: ci_lower: <reason>`` (a file);
    ``None`` when there is any."""
    key = key_path(*prefix, KEY)
    if not isinstance(value, str):
        problems = check_records(value)
        for problem in problems:
            field = f".{problem.key}" if problem.key else ""
            root.errors.add(where, key + _row(problem) + field, problem.reason)
        return None if problems else [_clean(record) for record in value]
    path = root.resolve(value, named_by=named_by, key=key)
    if path is None:
        return None
    shown = root.display(path)
    try:
        records = _read(path)
    except (OSError, ValueError, ImportError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        root.errors.add(where, key, f"cannot read {shown}: {reason}")
        return None
    _, unit, first = FORMATS[path.suffix.lower()]
    problems = check_records(records)
    for problem in problems:
        row = "" if problem.row < 0 else f" {unit} {problem.row + first}"
        root.errors.add(where, key, f"{shown}{row}: {_reason(problem)}")
    return None if problems else [_clean(record) for record in records]


def _row(problem: Problem) -> str:
    return "" if problem.row < 0 else f"[{problem.row}]"


def _reason(problem: Problem) -> str:
    return f"{problem.key}: {problem.reason}" if problem.key else problem.reason


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    """The record's set keys, numbers as floats (what the payload carries)."""
    return {
        k: (v if k in ("model_type", "initiative_id", "run_id") else float(v))
        for k, v in record.items()
        if v is not None
    }


def _read(path: Path) -> list[dict[str, Any]]:
    """Records of a CSV, Parquet or JSON Lines file; empty cells are absent keys.

    Raises:
        ValueError: an unknown suffix, a file too large, a missing column or one the
            reader cannot parse.
    """
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"expected a {', '.join(FORMATS)} file, got {suffix or 'no suffix'}")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"file too large: {size} bytes, limit {MAX_BYTES}")
    import pandas as pd  # publish loads pandas only for a manifest that names such a file

    reader = FORMATS[suffix][0]
    if reader == "csv":
        frame = pd.read_csv(path, dtype={"model_type": str, "initiative_id": str, "run_id": str})
    elif reader == "parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_json(path, lines=True, dtype=False)
    missing = [column for column in REQUIRED if column not in frame.columns]
    if missing:
        raise ValueError(
            f"missing column(s) {', '.join(missing)} (accepted: {', '.join(ACCEPTED)})"
        )
    return [
        {str(k): _cell(str(k), v) for k, v in record.items()} for record in frame.to_dict("records")
    ]


def _cell(key: str, value: Any) -> Any:
    """An empty cell is ``None``; a number written as text in a numeric column (one bad
    cell makes pandas read its whole column as text) is the number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and key in NUMERIC:
        try:
            return float(value)
        except ValueError:
            return value
    return value
