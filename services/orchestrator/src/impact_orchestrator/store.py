"""In-memory run states of one orchestrator replica (no Kafka: the service persists them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from impact_orchestrator.changelog import Part, touched
from impact_orchestrator.commands import Command
from impact_orchestrator.run_state import Mark, RunState
from impact_orchestrator.transitions import apply, on_tick, reject_input, reject_manifest

ENVELOPE_FIELDS = ("schema_version", "run_id", "event_id", "causation_id", "produced_at")
log = structlog.get_logger("impact_orchestrator")

Change = tuple[RunState, list[Command]]


def without_envelope(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in ENVELOPE_FIELDS}


def _iso(at: Any) -> str | None:
    """An envelope's ``produced_at`` (a datetime once decoded) as ISO 8601 text."""
    return at.isoformat() if isinstance(at, datetime) else None if at is None else str(at)


@dataclass
class Runs:
    """Run states by run_id, with the input partition each run lives on."""

    states: dict[str, RunState] = field(default_factory=dict)
    partitions: dict[str, int] = field(default_factory=dict)

    def put(self, state: RunState, partition: int) -> None:
        self.states[state.run_id] = state
        self.partitions[state.run_id] = partition

    def drop(self, partition_gone: Callable[[int], bool]) -> list[str]:
        """Forget the runs on the partitions ``partition_gone``; their ids."""
        gone = [r for r, p in self.partitions.items() if partition_gone(p)]
        for run_id in gone:
            del self.states[run_id], self.partitions[run_id]
        return gone


@dataclass(frozen=True)
class _Undo:
    """How to bring run ``run_id`` back to an earlier version: ``mark`` of ``state`` on
    ``partition``; without a ``state`` the run was new since, and is removed."""

    run_id: str
    state: RunState | None = None
    mark: Mark | None = None
    partition: int = 0

    def undo(self, runs: Runs) -> None:
        if self.state is None or self.mark is None:
            runs.states.pop(self.run_id, None)
            runs.partitions.pop(self.run_id, None)
            return
        self.state.restore(self.mark)
        runs.put(self.state, self.partition)


@dataclass
class RunStore:
    """The live runs of this replica, and how to return to their last committed version.

    Changes are provisional until ``commit()``, which the runtime calls once their
    commands and changelog records are delivered; ``rollback()`` returns to the committed
    runs, so an undelivered change (e.g. a deadline expiry) happens again. Transitions
    change runs in place: before a run's first change after a commit its ``mark()`` is
    kept, so commit and rollback cost O(runs changed), never O(run size).

    Each change also notes which changelog parts of its run it touched
    (``changelog.touched``), for the service to write (``take_parts``).
    """

    live: Runs = field(default_factory=Runs)
    _undo: dict[str, _Undo] = field(default_factory=dict)
    _parts: dict[str, set[Part]] = field(default_factory=dict)
    #: runs to write whole at their next change (restored from the format-1 changelog)
    _whole: set[str] = field(default_factory=set)

    @property
    def states(self) -> dict[str, RunState]:
        return self.live.states

    def handle(
        self, event: str, value: dict[str, Any], partition: int, now: float
    ) -> Change | None:
        """Apply one incoming event; ``None`` when it changes no state."""
        run_id = str(value["run_id"])
        if event == "manifest_submitted":
            if run_id in self.states:
                log.info("duplicate_manifest", run_id=run_id)
                return None
            payload = without_envelope(value)
            return self._change(run_id, partition, lambda: RunState.start(payload, run_id, now))
        if run_id not in self.states:
            log.warning("unknown_run", run_id=run_id, event_name=event)
            return None
        state = self.states[run_id]
        payload = without_envelope(value)
        if event == "run_command":  # deduplicated by its id, recorded with when it was sent
            payload |= {"command_id": value["event_id"], "sent_at": _iso(value.get("produced_at"))}
        return self._change(run_id, partition, lambda: apply(state, event, payload, now))

    def reject(
        self, event: str, value: dict[str, Any], reason: str, partition: int, now: float
    ) -> Change | None:
        """End what an event that broke its contract belongs to: a new run fails at once, a
        live run records the failure (``transitions.reject_*``). ``None`` for an unknown run,
        or a manifest whose run already exists."""
        run_id = str(value["run_id"])
        if event == "manifest_submitted":
            if run_id in self.states:
                return None
            return self._change(run_id, partition, lambda: reject_manifest(run_id, reason, now))
        if run_id not in self.states:
            log.warning("unknown_run", run_id=run_id, event_name=event)
            return None
        state, payload = self.states[run_id], without_envelope(value)
        return self._change(
            run_id, partition, lambda: reject_input(state, event, payload, reason, now)
        )

    def tick(self, now: float) -> list[Change]:
        """Deadlines of every live run (all or nothing: a failing run changes no state)."""
        changes: list[Change] = []
        entries: list[_Undo] = []
        try:
            for run_id, state in sorted(self.states.items()):
                entry = self._entry(run_id)
                new, commands = on_tick(state, now)
                if commands:
                    entries.append(entry)
                    changes.append((new, commands))
        except BaseException:
            entry.undo(self.live)
            for done in reversed(entries):
                done.undo(self.live)
            raise
        for entry, (state, _) in zip(entries, changes, strict=True):
            self._note(entry, state)
        return changes

    def take_parts(self, run_id: str) -> set[Part]:
        """The changelog parts of ``run_id`` changed since they were last taken."""
        return self._parts.pop(run_id, set())

    def commit(self) -> None:
        """The changes so far are delivered."""
        self._whole.difference_update(self._undo)
        self._undo.clear()
        self._parts.clear()

    def rollback(self) -> None:
        """Forget the changes since the last commit."""
        for entry in self._undo.values():
            entry.undo(self.live)
        self._undo.clear()
        self._parts.clear()

    def restore(
        self, partition: int, states: dict[str, RunState], whole: set[str] | None = None
    ) -> None:
        """Replace the runs of ``partition`` by ``states`` read from the changelog (they
        are committed: nothing to undo for them); runs in ``whole`` are written whole at
        their next change."""
        self._forget(self.live.drop(lambda p: p == partition))
        for state in states.values():
            self._forget([state.run_id])
            self.live.put(state, partition)
        self._whole.update(whole or set())

    def keep_only(self, partitions: set[int]) -> None:
        """Forget runs whose partition this replica no longer owns."""
        self._forget(self.live.drop(lambda p: p not in partitions))

    def _change(self, run_id: str, partition: int, transition: Callable[[], Change]) -> Change:
        """Run ``transition`` of run ``run_id`` (new if absent), undone if it raises."""
        entry = self._entry(run_id)
        try:
            new, commands = transition()
        except BaseException:
            entry.undo(self.live)
            raise
        self.live.put(new, partition)
        self._note(entry, new)
        return new, commands

    def _note(self, entry: _Undo, state: RunState) -> None:
        """``entry``'s run became ``state``: keep the undo, note the parts it touched."""
        self._undo.setdefault(entry.run_id, entry)
        mark = None if entry.run_id in self._whole else entry.mark
        self._parts.setdefault(entry.run_id, set()).update(touched(state, mark))

    def _entry(self, run_id: str) -> _Undo:
        """How to undo what is about to happen to ``run_id``."""
        state = self.states.get(run_id)
        if state is None:
            return _Undo(run_id)
        return _Undo(run_id, state, state.mark(), self.live.partitions[run_id])

    def _forget(self, run_ids: list[str]) -> None:
        for run_id in run_ids:
            self._undo.pop(run_id, None)
            self._parts.pop(run_id, None)
            self._whole.discard(run_id)
