"""Restore errors are classified: an outage is waited out, a corrupt record is permanent
(the run is left out and named, the replica not ready), never an endless retry."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka.errors import KafkaConnectionError
from impact_orchestrator.changelog import (
    encode_part,
    every_part,
    record_key,
)
from impact_orchestrator.changelog_restore import restore_records
from impact_orchestrator.outputs import Reject
from impact_orchestrator.run_state import RunState
from impact_orchestrator.service import ChangelogChanged, Orchestrator, Settings
from impact_runtime import Incoming
from impact_runtime.outage import Stopping

from services.orchestrator.tests.events import manifest_payload


def records_of(state: RunState) -> dict[bytes, bytes]:
    found = {}
    for part in every_part(state):
        value = encode_part(state, part)
        if value is not None:
            found[record_key(state.run_id, part).encode()] = value
    return found


def run(run_id: str) -> RunState:
    state, _ = RunState.start(manifest_payload({"a": 10.0}), run_id, 0.0)
    return state


def test_a_run_with_broken_positions_is_left_out_and_named() -> None:
    good, bad = records_of(run("good")), records_of(run("bad"))
    bad[b'["bad","pilot","a"]'] = json.dumps(
        {
            "run_id": "bad",
            "part": ["pilot", "a"],
            "results": {},
            "settled": [],
            "seen": [],
            "failures": [[5, {"initiative_id": "a"}]],
            "missing": [],
        }
    ).encode()
    restored = restore_records({**good, **bad}.items())
    assert list(restored.states) == ["good"]
    assert list(restored.corrupt) == ["bad"]
    assert "positions of failures are not 0..n-1" in restored.corrupt["bad"]


def test_undecodable_bytes_name_their_run_by_key() -> None:
    good = records_of(run("good"))
    broken = {b'["gone","pilot","a"]': b"\x78\x9c not zlib", b"plain": b"{not json"}
    restored = restore_records({**good, **broken}.items())
    assert list(restored.states) == ["good"]
    assert sorted(restored.corrupt) == ["gone", "plain"]


async def test_a_corrupt_record_fails_readiness_without_a_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orchestrator = Orchestrator(Settings(bootstrap_servers="127.0.0.1:9"))
    orchestrator._changelog_ready = True
    calls = 0

    async def corrupt(partitions: set[int]) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("changelog of run 'x': positions of failures are not 0..n-1")

    monkeypatch.setattr(orchestrator, "_rebuild", corrupt)
    await asyncio.wait_for(orchestrator._restore({0}), 5)
    assert calls == 1
    assert not orchestrator.healthy and orchestrator.corrupt_found == 1
    value = {"run_id": "x", "initiative_id": "a", "phase": "pilot"}
    incoming = Incoming("t", 0, 0, "x", "measure_completed", value, {})
    [rejected] = await orchestrator.handle(incoming)
    assert isinstance(rejected, Reject) and "not restored" in rejected.reason


async def test_an_outage_during_the_restore_is_waited_out(monkeypatch: pytest.MonkeyPatch) -> None:
    orchestrator = Orchestrator(Settings(bootstrap_servers="127.0.0.1:9"))
    orchestrator._changelog_ready = True
    calls = 0

    async def flaky(partitions: set[int]) -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise KafkaConnectionError("broker away")

    monkeypatch.setattr(orchestrator, "_rebuild", flaky)
    await asyncio.wait_for(orchestrator._restore({0}), 10)
    assert calls == 3
    assert orchestrator.healthy and orchestrator.restored.is_set()


async def test_a_revoked_partition_s_quarantine_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A replica that lost the partition of a corrupt run is ready again (it was 503 for
    good); the partition's new owner quarantines the run."""
    orchestrator = Orchestrator(Settings(bootstrap_servers="127.0.0.1:9"))
    orchestrator._changelog_ready = True
    orchestrator.quarantined = {"x": (2, "corrupt"), "y": (0, "corrupt")}

    async def nothing(partitions: set[int]) -> None:
        return None

    monkeypatch.setattr(orchestrator, "_rebuild", nothing)
    await asyncio.wait_for(orchestrator._restore({0, 1}), 5)
    assert orchestrator.quarantined == {"y": (0, "corrupt")}


async def test_a_changed_changelog_refuses_without_a_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orchestrator = Orchestrator(Settings(bootstrap_servers="127.0.0.1:9"))
    orchestrator._changelog_ready = True
    stops: list[bool] = []
    orchestrator.on_refused = lambda: stops.append(True)
    calls = 0

    async def grown(partitions: set[int]) -> None:
        nonlocal calls
        calls += 1
        raise ChangelogChanged("changelog c has 12 partitions, this orchestrator started with 6")

    monkeypatch.setattr(orchestrator, "_rebuild", grown)
    await asyncio.wait_for(orchestrator._restore({0}), 5)
    assert calls == 1 and stops == [True]
    assert not orchestrator.healthy and orchestrator.changed_found == 1
    value = {"run_id": "x", "initiative_id": "a", "phase": "pilot"}
    with pytest.raises(Stopping):  # the batch is left uncommitted, never dead-lettered
        await orchestrator.handle(Incoming("t", 0, 0, "x", "measure_completed", value, {}))
