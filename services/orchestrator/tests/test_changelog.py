"""The incremental changelog (decision 0040): runs restored from their records equal the
live runs at every commit, for random runs with duplicates, failures, rollbacks and
deadlines; a batch writes bytes in proportion to its results, not to the run."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from impact_contracts import ContractViolation
from impact_orchestrator.changelog import (
    HEADER,
    decode_value,
    encode_part,
    key_home,
    record_key,
)
from impact_orchestrator.changelog_restore import restore_runs
from impact_orchestrator.run_state import RunState
from impact_orchestrator.store import RunStore

from services.orchestrator.tests.events import (
    RUN_ID,
    allocated,
    evaluated,
    failed,
    manifest_payload,
    measured,
)
from services.orchestrator.tests.test_run_state_undo import COSTS, EVENTS

ODD_IDS = ["a", "b:c", "*", 'é"x', "measure:pilot:q", "[1]", "z9"]


@dataclass
class Changelog:
    """What the service writes: the parts each change touched, encoded at the batch's end
    from the final state, last value per key; tombstones remove a key."""

    values: dict[str, bytes] = field(default_factory=dict)
    pending: dict[str, tuple[RunState, tuple[str, ...]]] = field(default_factory=dict)
    written: list[int] = field(default_factory=list)  # bytes per committed batch

    def stage(self, store: RunStore, state: RunState) -> None:
        for part in store.take_parts(state.run_id):
            self.pending[record_key(state.run_id, part)] = (state, part)

    def commit(self, store: RunStore) -> None:
        size = 0
        for key, (state, part) in self.pending.items():
            value = encode_part(state, part)
            if value is None:
                self.values.pop(key, None)
            else:
                self.values[key] = value
                size += len(key) + len(value)
        self.written.append(size)
        self.pending.clear()
        store.commit()

    def rollback(self, store: RunStore) -> None:
        self.pending.clear()
        store.rollback()

    def restored(self) -> dict[str, RunState]:
        return restore_runs(self.values.values()).states


def _random_events(rng: random.Random, ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """A plausible, noisy run: results in random order, duplicates, unknown ids,
    failures, an allocation of some evaluated ids, scale results."""
    pilot: list[tuple[str, dict[str, Any]]] = []
    for i in ids:
        if rng.random() < 0.15:
            pilot.append(("stage_failed", failed("measure", i, "pilot")))
            continue
        pilot.append(("measure_completed", measured(i, rng.uniform(-1, 3))))
        if rng.random() < 0.15:
            pilot.append(("stage_failed", failed("evaluate", i)))
        elif rng.random() < 0.9:  # else a straggler the deadline may drop
            pilot.append(("evaluate_completed", evaluated(i, rng.uniform(0, 3), 1.0)))
    pilot += [rng.choice(pilot) for _ in range(len(ids) // 3)]  # duplicates
    pilot.append(("evaluate_completed", evaluated("unknown", 1.0, 1.0)))
    rng.shuffle(pilot)
    evaluable = [p["initiative_id"] for e, p in pilot if e == "evaluate_completed"]
    chosen = sorted(set(rng.sample(evaluable, k=min(len(evaluable), 3))) - {"unknown"})
    allocation = allocated(10.0, dict.fromkeys(chosen, 1.0), dict.fromkeys(chosen, 1.0))
    scale: list[tuple[str, dict[str, Any]]] = [
        ("stage_failed", failed("measure", i, "scale"))
        if rng.random() < 0.2
        else ("measure_completed", measured(i, 1.0, "scale"))
        for i in chosen
    ]
    if rng.random() < 0.3:
        scale.append(("stage_failed", failed("allocate", None)))  # unexpected then
    return [*pilot, ("allocate_completed", allocation), *scale]


def _run_random(seed: int) -> None:
    rng = random.Random(seed)
    print(f"seed {seed}")
    store, changelog = RunStore(), Changelog()
    runs = {}
    for run_id in (f"run-{seed}", f"run-{seed}-b"):
        ids = rng.sample(ODD_IDS, k=rng.randint(1, len(ODD_IDS)))
        deadline = rng.choice([None, 5.0])
        policy = rng.choice(["fail", "proceed"])
        payload = manifest_payload(dict.fromkeys(ids, 1.0), deadline_s=deadline)
        payload["deadline_policy"] = policy
        change = store.handle("manifest_submitted", {"run_id": run_id, **payload}, 0, 0.0)
        assert change is not None
        changelog.stage(store, change[0])
        runs[run_id] = _random_events(rng, ids)
    changelog.commit(store)
    assert changelog.restored() == store.states
    now = 1.0
    while any(runs.values()):
        run_id = rng.choice([r for r, events in runs.items() if events])
        event, payload = runs[run_id].pop(0)
        try:
            change = store.handle(event, {"run_id": run_id, **payload}, 0, now)
        except ContractViolation:
            change = None  # undone by the store; the service dead-letters it
        if change is not None:
            changelog.stage(store, change[0])
        if rng.random() < 0.1:
            now += 3.0
            for state, _ in store.tick(now):
                changelog.stage(store, state)
        roll = rng.random()
        if roll < 0.25:
            changelog.commit(store)
            assert changelog.restored() == store.states
        elif roll < 0.3:
            changelog.rollback(store)
            assert changelog.restored() == store.states
    changelog.commit(store)
    assert changelog.restored() == store.states


@pytest.mark.parametrize("seed", range(60))
def test_restored_runs_equal_the_live_runs_at_every_commit(seed: int) -> None:
    _run_random(seed)


@pytest.mark.parametrize("at", range(len(EVENTS)))
def test_a_restored_run_goes_on_exactly_like_the_live_one(at: int) -> None:
    store, changelog = RunStore(), Changelog()
    manifest = {"run_id": RUN_ID, **manifest_payload(COSTS)}
    changelog.stage(store, store.handle("manifest_submitted", manifest, 0, 0.0)[0])  # type: ignore[index]
    for event, payload in EVENTS[:at]:
        change = store.handle(event, {"run_id": RUN_ID, **payload}, 0, 1.0)
        if change:
            changelog.stage(store, change[0])
    changelog.commit(store)
    replica = RunStore()
    replica.restore(0, changelog.restored())
    for event, payload in EVENTS[at:]:
        value = {"run_id": RUN_ID, **payload}
        assert replica.handle(event, value, 0, 1.0) == store.handle(event, value, 0, 1.0)
    assert replica.states == store.states and store.states[RUN_ID].done


def test_every_dedup_key_lives_in_the_record_of_its_initiative() -> None:
    for key in ["measure:pilot:a:b", "measure:scale:*", "evaluate:x", "allocate:*", "odd"]:
        assert key in _keys_of(key_home(key))


def _keys_of(part: tuple[str, ...]) -> list[str]:
    """Which seen keys a record of ``part`` holds when every candidate key is seen."""
    state = RunState(run_id="r", manifest={}, started_at=0.0)
    _, initiative = part
    for key in [f"measure:pilot:{initiative}", f"measure:scale:{initiative}"]:
        state.seen.first_time(key)
    for key in [f"evaluate:{initiative}", f"allocate:{initiative}", initiative]:
        state.seen.first_time(key)
    value = encode_part(state, part)
    assert value is not None
    return list(decode_value(value)["seen"])


def test_a_whole_state_record_of_format_1_is_read_and_then_written_whole() -> None:
    store = RunStore()
    manifest = {"run_id": "old", **manifest_payload({"a": 1.0, "b": 2.0})}
    store.handle("manifest_submitted", manifest, 0, 0.0)
    store.handle("measure_completed", {"run_id": "old", **measured("a", 1.0)}, 0, 1.0)
    store.commit()
    legacy = zlib.compress(store.states["old"].to_json().encode(), 1)  # decision 0005

    restored = restore_runs([legacy])
    assert restored.states == store.states and restored.whole == {"old"}
    replica, changelog = RunStore(), Changelog(values={"old": legacy})
    replica.restore(0, restored.states, restored.whole)
    change = replica.handle("measure_completed", {"run_id": "old", **measured("b", 2.0)}, 0, 2.0)
    changelog.stage(replica, change[0])  # type: ignore[index]
    assert len(changelog.pending) == 4  # header, manifest, pilot a, pilot b
    changelog.commit(replica)
    assert changelog.restored() == replica.states
    again = replica.handle("evaluate_completed", {"run_id": "old", **evaluated("a", 1, 1)}, 0, 3)
    changelog.stage(replica, again[0])  # type: ignore[index]
    assert sorted(changelog.pending) == sorted([record_key("old", HEADER), '["old","pilot","a"]'])


def _bytes_per_batch(n: int) -> int:
    """Bytes one batch of 200 pilot results writes to the changelog of an n-initiative run."""
    ids = [f"i{k:06d}" for k in range(n)]
    store, changelog = RunStore(), Changelog()
    manifest = {"run_id": "big", **manifest_payload(dict.fromkeys(ids, 1.0))}
    changelog.stage(store, store.handle("manifest_submitted", manifest, 0, 0.0)[0])  # type: ignore[index]
    changelog.commit(store)
    for i in ids[:100]:
        for event, payload in [
            ("measure_completed", measured(i, 1.0)),
            ("evaluate_completed", evaluated(i, 1.0, 1.0)),
        ]:
            change = store.handle(event, {"run_id": "big", **payload}, 0, 1.0)
            changelog.stage(store, change[0])  # type: ignore[index]
    changelog.commit(store)
    return changelog.written[-1]


def test_a_batch_writes_the_same_bytes_in_a_run_ten_times_larger() -> None:
    small, large = _bytes_per_batch(1_000), _bytes_per_batch(10_000)
    assert large < 1.1 * small, f"per batch: {small} bytes at 1,000, {large} at 10,000"
