"""A run as many small compacted changelog records (pure: no Kafka), decision 0040.

Records of a run (values: JSON naming ``run_id`` and ``part``, zlib-compressed when
larger than ``COMPRESS_ABOVE``):

- the header, key ``run_id``: stage, status, reason, start, deadline, ignored counts;
- ``["<run_id>","manifest"]``: the manifest and the pilot barriers' ids (written once);
- ``["<run_id>","allocation"]``: the allocation and the scale barrier's ids;
- ``["<run_id>","result"]``: the ``run_completed`` payload;
- ``["<run_id>","lifecycle"]``: the decisions people made on the run and the scale data
  they gave (absent until there is one; the header holds the verdict and the due time);
- ``["<run_id>","pilot"|"scale","<initiative_id>"]``: that initiative's results of the
  phase, the barriers it settled, its dedup keys, and its failures and ``missing``
  entries with their positions (a dedup key of no known shape gets ``"key"`` records).

``touched(state, mark)`` names the records that a change since ``mark`` rewrites (the
header, plus what grew), so a batch writes bytes in proportion to its results, not to the
run. ``changelog_restore.restore_runs`` puts runs back together from the last value of
each key; a run with a record that cannot be decoded or assembled is left out and named in
``Restored.corrupt`` with the reason (a permanent error, never retried).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from itertools import islice
from typing import Any

import structlog
from impact_contracts.models import InitiativeFailure

from impact_orchestrator.run_state import Mark, RunState

FORMAT = 2  # 1: the whole run's JSON under key run_id (decision 0005)
#: larger values are zlib-compressed; small ones are left to the producer's batch gzip,
#: which compresses a batch's records together (and better than one by one)
COMPRESS_ABOVE = 4096
Part = tuple[str, ...]
HEADER: Part = ("header",)
MANIFEST: Part = ("manifest",)
ALLOCATION: Part = ("allocation",)
RESULT: Part = ("result",)
LIFECYCLE: Part = ("lifecycle",)
#: header fields; the lifecycle's (verdict, due) are absent from older headers
HEADER_FIELDS = ("started_at", "stage", "status", "reason", "deadline", "verdict", "due")
#: per phase: the result containers and the barriers an initiative's record holds
_PHASES = {
    "pilot": (("pilots", "evaluations"), ("measured", "evaluated")),
    "scale": (("scales",), ("scaled",)),
    "key": ((), ()),
}
#: the barriers in ``Mark.barriers`` order, and the phase of their records
_BARRIERS = {"measured": "pilot", "evaluated": "pilot", "scaled": "scale"}
#: dedup key prefixes (``dedup.result_key``) and the phase record that holds them
_KEY_PREFIXES = (
    ("measure:pilot:", "pilot"),
    ("measure:scale:", "scale"),
    ("evaluate:", "pilot"),
    ("allocate:", "pilot"),
)
log = structlog.get_logger("impact_orchestrator")


def record_key(run_id: str, part: Part) -> str:
    """The compaction key of ``part`` of run ``run_id``."""
    return run_id if part == HEADER else json.dumps([run_id, *part], separators=(",", ":"))


def key_home(key: str) -> Part:
    """The initiative record holding dedup key ``key``."""
    for prefix, phase in _KEY_PREFIXES:
        if key.startswith(prefix):
            return (phase, key[len(prefix) :])
    return ("key", key)


def _home_keys(phase: str, initiative_id: str) -> list[str]:
    if phase == "key":
        return [initiative_id]
    return [p + initiative_id for p, home in _KEY_PREFIXES if home == phase]


def _failure_phase(failure: InitiativeFailure) -> str:
    return "scale" if failure.stage == "scale" else "pilot"


def _missing_phase(state: RunState, initiative_id: str) -> str:
    """A deadline drops pilot stragglers (never selected) or scale stragglers."""
    return "scale" if state.scaled.expects(initiative_id) else "pilot"


def _newest(container: dict[str, Any], size: int) -> Iterator[str]:
    return islice(reversed(container), max(0, len(container) - size))


def touched(state: RunState, mark: Mark | None) -> set[Part]:
    """The parts of ``state`` changed since ``mark`` (``None``: a new run, every part)."""
    if mark is None:
        return every_part(state)
    parts = {HEADER}
    scaled_before = mark.barriers[2][0]
    if state.allocation is not mark.fields["allocation"] or state.scaled is not scaled_before:
        parts.add(ALLOCATION)
    if state.result is not mark.fields["result"]:
        parts.add(RESULT)
    if any(len(getattr(state, n)) > mark.size(n) for n in ("decisions", "scale_configs")):
        parts.add(LIFECYCLE)
    for phase, (containers, _) in _PHASES.items():
        for name in containers:
            parts.update((phase, i) for i in _newest(getattr(state, name), mark.size(name)))
    for name, (before, size) in zip(_BARRIERS, mark.barriers, strict=True):
        barrier = getattr(state, name)
        since = size if barrier is before else 0  # a new barrier: all its settles are new
        parts.update((_BARRIERS[name], i) for i in barrier.added_since(since))
    for failure in state.failures[mark.size("failures") :]:
        parts.add((_failure_phase(failure), failure.initiative_id))
    for initiative_id in state.missing[mark.size("missing") :]:
        parts.add((_missing_phase(state, initiative_id), initiative_id))
    parts.update(key_home(k) for k in state.seen.added_since(mark.seen))
    return parts


def every_part(state: RunState) -> set[Part]:
    """Every part of ``state``: what a run new since the last commit writes."""
    parts = {HEADER, MANIFEST}
    if state.allocation is not None or state.scaled.expected:
        parts.add(ALLOCATION)
    if state.result is not None:
        parts.add(RESULT)
    if state.decisions or state.scale_configs:
        parts.add(LIFECYCLE)
    for phase, (containers, barriers) in _PHASES.items():
        for name in containers:
            parts.update((phase, i) for i in getattr(state, name))
        for name in barriers:
            parts.update((phase, i) for i in getattr(state, name).settled)
    parts.update((_failure_phase(f), f.initiative_id) for f in state.failures)
    parts.update((_missing_phase(state, i), i) for i in state.missing)
    parts.update(key_home(k) for k in state.seen.keys)
    return parts


def encode_part(state: RunState, part: Part) -> bytes | None:
    """The changelog value of ``part`` of ``state``; ``None`` (a tombstone) when empty."""
    content = _content(state, part)
    if content is None:
        return None
    record = {"run_id": state.run_id, "part": list(part), **content}
    text = json.dumps(record, separators=(",", ":")).encode()
    return zlib.compress(text, 1) if len(text) > COMPRESS_ABOVE else text


def decode_value(value: bytes) -> dict[str, Any]:
    """A changelog value: JSON, zlib-compressed unless it is small (a JSON object starts
    with ``{``, a zlib stream never does)."""
    loaded: dict[str, Any] = json.loads(value if value[:1] == b"{" else zlib.decompress(value))
    return loaded


def _content(state: RunState, part: Part) -> dict[str, Any] | None:
    if part == HEADER:
        header = state.model_dump(include=set(HEADER_FIELDS))
        return {"format": FORMAT, **header, "ignored": state.seen.ignored}
    if part == MANIFEST:
        expected = {"measured": state.measured.expected, "evaluated": state.evaluated.expected}
        manifest = state.manifest.model_dump(exclude_unset=True) if state.manifest else {}
        return {"manifest": manifest, **expected}
    if part == ALLOCATION:
        allocation = state.allocation.model_dump() if state.allocation else None
        return {"allocation": allocation, "scaled": state.scaled.expected}
    if part == RESULT:
        return {"result": state.result}
    if part == LIFECYCLE:
        decisions = [d.model_dump(exclude_unset=True) for d in state.decisions]
        return {"decisions": decisions, "scale_configs": state.scale_configs}
    phase, initiative_id = part
    containers, barriers = _PHASES[phase]
    failures = [
        [k, state.failures[k].model_dump()]
        for k in state.failure_positions(initiative_id)
        if _failure_phase(state.failures[k]) == phase
    ]
    missing = [
        k
        for k in state.missing_positions(initiative_id)
        if _missing_phase(state, initiative_id) == phase
    ]
    content = {  # results: the keys their producer sent, so a record is no larger for
        # the defaults of the contract (a restore validates it again, in pydantic-core)
        "results": {
            n: getattr(state, n)[initiative_id].model_dump(exclude_unset=True)
            for n in containers
            if initiative_id in getattr(state, n)
        },
        "settled": [n for n in barriers if initiative_id in getattr(state, n).settled],
        "seen": [k for k in _home_keys(phase, initiative_id) if k in state.seen.keys],
        "failures": failures,
        "missing": missing,
    }
    return content if any(content.values()) else None
