"""In-memory run states of one orchestrator replica (no Kafka: the service persists them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from impact_orchestrator.commands import Command
from impact_orchestrator.run_state import RunState
from impact_orchestrator.transitions import apply, on_tick, reject_input, reject_manifest

ENVELOPE_FIELDS = ("schema_version", "run_id", "event_id", "causation_id", "produced_at")
log = structlog.get_logger("impact_orchestrator")

Change = tuple[RunState, list[Command]]


def without_envelope(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in ENVELOPE_FIELDS}


@dataclass
class Runs:
    """Run states by run_id, with the input partition each run lives on."""

    states: dict[str, RunState] = field(default_factory=dict)
    partitions: dict[str, int] = field(default_factory=dict)

    def put(self, state: RunState, partition: int) -> None:
        self.states[state.run_id] = state
        self.partitions[state.run_id] = partition

    def drop(self, partition_gone: Callable[[int], bool]) -> None:
        for run_id in [r for r, p in self.partitions.items() if partition_gone(p)]:
            del self.states[run_id], self.partitions[run_id]

    def copy(self) -> Runs:
        """States are never mutated in place (transitions return copies): a dict copy."""
        return Runs(dict(self.states), dict(self.partitions))


@dataclass
class RunStore:
    """The live runs of this replica, and the last committed version of them.

    Changes are provisional until ``commit()``, which the runtime calls once their
    commands and changelog records are delivered; ``rollback()`` returns to the committed
    runs, so an undelivered change (e.g. a deadline expiry) happens again.
    """

    live: Runs = field(default_factory=Runs)
    committed: Runs = field(default_factory=Runs)

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
            state, commands = RunState.start(without_envelope(value), run_id, now)
        elif run_id not in self.states:
            log.warning("unknown_run", run_id=run_id, event_name=event)
            return None
        else:
            state, commands = apply(self.states[run_id], event, without_envelope(value), now)
        self.live.put(state, partition)
        return state, commands

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
            state, commands = reject_manifest(run_id, reason, now)
        elif run_id not in self.states:
            log.warning("unknown_run", run_id=run_id, event_name=event)
            return None
        else:
            payload = without_envelope(value)
            state, commands = reject_input(self.states[run_id], event, payload, reason, now)
        self.live.put(state, partition)
        return state, commands

    def tick(self, now: float) -> list[Change]:
        """Deadlines of every live run (all or nothing: a failing run changes no state)."""
        changes = []
        for _, state in sorted(self.states.items()):
            new, commands = on_tick(state, now)
            if commands:
                changes.append((new, commands))
        for new, _ in changes:
            self.live.put(new, self.live.partitions[new.run_id])
        return changes

    def commit(self) -> None:
        """The changes so far are delivered."""
        self.committed = self.live.copy()

    def rollback(self) -> None:
        """Forget the changes since the last commit."""
        self.live = self.committed.copy()

    def restore(self, partition: int, states: dict[str, RunState]) -> None:
        """Replace the runs of ``partition`` by ``states`` read from the changelog (they
        are committed, so both views take them)."""
        for runs in (self.live, self.committed):
            runs.drop(lambda p: p == partition)
            for state in states.values():
                runs.put(state, partition)

    def keep_only(self, partitions: set[int]) -> None:
        """Forget runs whose partition this replica no longer owns."""
        for runs in (self.live, self.committed):
            runs.drop(lambda p: p not in partitions)
