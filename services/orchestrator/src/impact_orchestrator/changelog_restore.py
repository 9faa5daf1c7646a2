"""Runs read back from their changelog records (``impact_orchestrator.changelog``): the
last value of each key, decoded and assembled into a ``RunState``; a run with a record
that cannot be decoded or assembled is left out and named in ``Restored.corrupt``."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from impact_orchestrator.changelog import (
    ALLOCATION,
    HEADER,
    HEADER_FIELDS,
    LIFECYCLE,
    MANIFEST,
    RESULT,
    Part,
    decode_value,
)
from impact_orchestrator.run_state import RunState

log = structlog.get_logger("impact_orchestrator")


@dataclass
class Restored:
    """Runs read back from a changelog partition; ``whole``: runs stored in format 1,
    which must be written whole (every part) at their next change; ``corrupt``: runs (or,
    when not even that can be read, record keys) that could not be restored, with why."""

    states: dict[str, RunState] = field(default_factory=dict)
    whole: set[str] = field(default_factory=set)
    corrupt: dict[str, str] = field(default_factory=dict)


#: What a corrupt or undecodable record raises while it is decoded or assembled.
CORRUPT = (ValueError, TypeError, KeyError, IndexError, zlib.error)


def restore_runs(values: Iterable[bytes]) -> Restored:
    """Runs from the last value of every key of a partition (tombstones left out)."""
    return restore_records((None, value) for value in values)


def restore_records(records: Iterable[tuple[bytes | None, bytes]]) -> Restored:
    """Runs from the last (key, value) of every key of a partition (tombstones left out);
    a run with a corrupt record is left out and named in ``corrupt``."""
    restored = Restored()
    runs: dict[str, dict[Part, dict[str, Any]]] = {}
    for key, value in records:
        try:
            record = decode_value(value)
            if "part" not in record:  # format 1: the whole run
                state = RunState.model_validate(record)
                restored.states[state.run_id] = state
                restored.whole.add(state.run_id)
                continue
            runs.setdefault(str(record["run_id"]), {})[tuple(record["part"])] = record
        except CORRUPT as exc:  # pydantic's ValidationError is a ValueError
            restored.corrupt[run_of_key(key)] = f"undecodable record {key!r}: {exc!r}"[:500]
    for run_id, parts in runs.items():
        if run_id in restored.corrupt:
            continue
        if HEADER not in parts or MANIFEST not in parts:
            log.error("changelog_run_incomplete", run_id=run_id, parts=len(parts))
            continue
        try:
            restored.states[run_id] = _assemble(run_id, parts)
        except CORRUPT as exc:
            restored.corrupt[run_id] = f"{type(exc).__name__}: {exc}"[:500]
    for run_id in restored.corrupt:
        restored.states.pop(run_id, None)
        restored.whole.discard(run_id)
    return restored


def run_of_key(key: bytes | None) -> str:
    """The run a changelog key belongs to (``run_id`` or ``["<run_id>", ...]``), as far as
    it can be read."""
    text = (key or b"").decode("utf-8", "replace")
    if text.startswith("["):
        try:
            return str(json.loads(text)[0])
        except CORRUPT:
            return text
    return text


def _assemble(run_id: str, parts: dict[Part, dict[str, Any]]) -> RunState:
    header, manifest = parts.pop(HEADER), parts.pop(MANIFEST)
    allocation = parts.pop(ALLOCATION, {"allocation": None, "scaled": []})
    data: dict[str, Any] = {
        "run_id": run_id,
        "manifest": manifest["manifest"],
        **{k: header[k] for k in HEADER_FIELDS if k in header},
        "allocation": allocation["allocation"],
        "result": parts.pop(RESULT, {"result": None})["result"],
        **{k: v for k, v in parts.pop(LIFECYCLE, {}).items() if k not in ("run_id", "part")},
        "seen": {"keys": [], "ignored": header["ignored"]},
        "pilots": {},
        "evaluations": {},
        "scales": {},
    }
    expected = {"measured": manifest["measured"], "evaluated": manifest["evaluated"]}
    expected["scaled"] = allocation["scaled"]
    for name, ids in expected.items():
        data[name] = {"expected": ids, "settled": []}
    failures: dict[int, dict[str, Any]] = {}
    missing: dict[int, str] = {}
    for (_, initiative_id), record in parts.items():
        for name, result in record["results"].items():
            data[name][initiative_id] = result
        for name in record["settled"]:
            data[name]["settled"].append(initiative_id)
        data["seen"]["keys"].extend(record["seen"])
        failures.update((k, f) for k, f in record["failures"])
        missing.update((k, initiative_id) for k in record["missing"])
    data["failures"] = _in_order(run_id, "failures", failures)
    data["missing"] = _in_order(run_id, "missing", missing)
    return RunState.model_validate(data)


def _in_order(run_id: str, name: str, entries: dict[int, Any]) -> list[Any]:
    """The list whose positions are ``entries``' keys (every position must be there)."""
    if sorted(entries) != list(range(len(entries))):
        raise ValueError(f"changelog of run {run_id!r}: positions of {name} are not 0..n-1")
    return [entries[k] for k in range(len(entries))]
