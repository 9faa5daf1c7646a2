"""RunStore: changes are provisional until delivered; a rollback brings back the last
delivered runs, so an undelivered deadline expiry fires again."""

from __future__ import annotations

from impact_orchestrator.store import RunStore

from services.orchestrator.tests.events import RUN_ID, manifest_payload, measured

COSTS = {"a": 10.0, "b": 20.0}


def started(deadline_s: float | None = 10.0) -> RunStore:
    store = RunStore()
    manifest = {"run_id": RUN_ID, **manifest_payload(COSTS, deadline_s=deadline_s)}
    assert store.handle("manifest_submitted", manifest, 0, now=100.0) is not None
    store.commit()
    return store


def test_an_undelivered_expiry_fires_again_after_a_rollback() -> None:
    store = started()
    [(expired, commands)] = store.tick(111.0)
    assert expired.missing == ["a", "b"]
    store.rollback()  # the runtime could not deliver the expiry
    assert store.states[RUN_ID].missing == []
    [(again, commands_again)] = store.tick(112.0)
    assert [c.event for c in commands_again] == [c.event for c in commands]
    assert again.missing == ["a", "b"]
    store.commit()
    assert store.tick(113.0) == []
    store.rollback()
    assert store.states[RUN_ID].missing == ["a", "b"]


def test_a_rollback_forgets_handled_results_and_a_commit_keeps_them() -> None:
    store = started(None)
    store.handle("measure_completed", {"run_id": RUN_ID, **measured("a", 1.0)}, 0, now=101.0)
    store.rollback()
    assert store.states[RUN_ID].pilots == {}
    store.handle("measure_completed", {"run_id": RUN_ID, **measured("a", 1.0)}, 0, now=101.0)
    store.commit()
    store.rollback()
    assert set(store.states[RUN_ID].pilots) == {"a"}


def test_runs_restored_from_the_changelog_survive_a_rollback() -> None:
    store = started(None)
    restored = store.states[RUN_ID]
    store.keep_only(set())
    assert store.states == {}
    store.restore(3, {RUN_ID: restored})
    store.rollback()
    assert store.states == {RUN_ID: restored}
    store.keep_only({0})  # partition 3 revoked
    store.rollback()
    assert store.states == {}
