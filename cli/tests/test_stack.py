"""``impact down`` keeps the broker's data and ``impact up`` restarts on it: a run in flight
when the stack stops completes after the next ``up``, with the embedded-mode report."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from impact_cli import stack
from impact_observe.bus import Bus

from bench.manifests import generate_manifest
from tests.integration.stack import outcome
from tests.integration.test_pipeline import embedded

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
INITIATIVES = 120
SEEN_BEFORE_DOWN = 10


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private ``impact up`` stack: its own broker, registry and services."""
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "IMPACT_TOPIC_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IMPACT_STACK_DIR", str(tmp_path / "stack"))
    return tmp_path / "stack"


async def _up() -> stack.StackState:
    return await asyncio.to_thread(stack.up, ROOT, {"measure": 2}, say=print)


@pytest.mark.timeout(900)
async def test_a_run_resumes_after_down_and_up(stack_dir: Path, tmp_path: Path) -> None:
    manifest = generate_manifest(INITIATIVES, tmp_path)
    run_id = "resume-after-down"
    try:
        state = await _up()
        bus = Bus(state.bootstrap, state.registry_url)
        try:
            await bus.publish_manifest(manifest.to_event_payload(), run_id)
            seen = 0
            async for _ in bus.follow(run_id, ["measure_completed"], timeout_s=300):
                seen += 1
                if seen == SEEN_BEFORE_DOWN:
                    break
        finally:
            await bus.close()
        assert seen == SEEN_BEFORE_DOWN
        await asyncio.to_thread(stack.down, ROOT, say=print)
        stopped_at = datetime.now(UTC)
        assert (stack_dir / "kafka" / "logs" / "meta.properties").is_file()

        state = await _up()
        bus = Bus(state.bootstrap, state.registry_url)
        try:
            completed = None
            async for _, value in bus.follow(run_id, ["run_completed"], timeout_s=600):
                completed = value
                break
            assert completed is not None, f"run {run_id} did not complete after down + up"
            completions = await bus.read_run(run_id, ["run_completed"])
        finally:
            await bus.close()
        assert completed["produced_at"] > stopped_at  # it really was in flight
        assert outcome(completed) == embedded(manifest, run_id)
        assert len(completions) == 1
        for log in ("registry.log", "orchestrator-0.log", "measure-1.log"):
            assert (stack_dir / "logs" / log).read_text().count("--- impact up ") == 2, log
    finally:
        await asyncio.to_thread(stack.down, ROOT, say=print, purge=True)
    assert not (stack_dir / "kafka").exists()
    assert not stack.StackState.path(ROOT).exists()
