"""A straggler hits the run deadline: written once, run through the orchestrator service
on FakeBus (test_deadline_fakebus.py) and on a real broker (test_deadline_kafka.py), and
compared with embedded mode, for both deadline policies."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from impact_orchestrator import run_embedded
from impact_orchestrator.commands import Command
from impact_orchestrator.executor import ComponentExecutor
from impact_orchestrator.manifest import Catalogs, load_manifest

from runtime.tests.harness import topic_of
from services.orchestrator.tests.conftest import WriteYaml
from services.orchestrator.tests.fakes import RELEASE_HANGING, four_initiatives, measure_config

RUN_ID = "run-deadline"
ENVELOPE = ("schema_version", "run_id", "event_id", "causation_id", "produced_at")


def straggler_manifest(write_yaml: WriteYaml, policy: str, deadline_s: float) -> Path:
    """a to d answer at once; e's pilot measurement never arrives before the deadline."""
    entries = four_initiatives()
    entries.append(
        {"initiative_id": "e", "cost_to_scale": 1.0, "measure_config": measure_config(hang="pilot")}
    )
    run: dict[str, Any] = {"budget": 40.0, "scale_sample_size": 400, "seed": 3}
    run |= {"deadline": deadline_s, "deadline_policy": policy}
    return write_yaml("manifest.yaml", {**run, "INITIATIVES": entries})


class DeadlineCases(abc.ABC):
    """Deadline expiry through the orchestrator service, whatever the bus."""

    #: the manifest's ``deadline`` on this bus (embedded mode waits it out for real)
    deadline_s: float

    @pytest.fixture(autouse=True)
    def _release_stragglers(self) -> Iterator[None]:
        """Embedded mode leaves e's measurement blocked in a worker thread: let it end."""
        RELEASE_HANGING.clear()
        yield
        RELEASE_HANGING.set()

    @abc.abstractmethod
    def orchestrator(self) -> AbstractAsyncContextManager[Any]:
        """A running orchestrator service behind a harness (runtime/tests/harness.py)."""

    @abc.abstractmethod
    async def expire(self, h: Any) -> None:
        """Let the run's deadline pass."""

    @pytest.mark.parametrize("policy", ["proceed", "fail"])
    async def test_a_straggler_meets_the_deadline_as_in_embedded_mode(
        self, policy: str, write_yaml: WriteYaml, catalogs: Catalogs
    ) -> None:
        manifest = load_manifest(
            straggler_manifest(write_yaml, policy, self.deadline_s), catalogs=catalogs
        )
        execute = ComponentExecutor(catalogs)
        answered: set[str] = set()

        async def answer(h: Any, event: str, count: int) -> list[dict[str, Any]]:
            """Answer every new ``event`` command but e's pilot; return the results."""
            results = []
            for command in await h.take(topic_of(h.prefix, event), count):
                value = command.value
                if value["event_id"] in answered or value.get("initiative_id") == "e":
                    continue
                answered.add(value["event_id"])
                payload = {k: v for k, v in value.items() if k not in ENVELOPE}
                name, result = execute(Command(event, command.key, payload))
                await h.send(name, {"run_id": RUN_ID, **result})
                results.append(result)
            return results

        async with self.orchestrator() as h:
            await h.send("manifest_submitted", {"run_id": RUN_ID, **manifest.to_event_payload()})
            await answer(h, "measure_requested", 5)
            await answer(h, "evaluate_requested", 4)
            await self.expire(h)
            if policy == "proceed":
                [allocation] = await answer(h, "allocate_requested", 1)
                selected = allocation["result"]["selected_initiatives"]
                await answer(h, "measure_requested", 5 + len(selected))
            [completed] = await h.take(topic_of(h.prefix, "run_completed"), 1)
            statuses = await h.all(topic_of(h.prefix, "run_status"))
        report = {
            k: completed.value[k]
            for k in ("status", "reports", "pilots", "cached", "failures", "summary")
        }
        assert report == run_embedded(manifest, catalogs=catalogs, run_id=RUN_ID)
        assert report["failures"] == [
            {"initiative_id": "e", "stage": "measure", "reason": "deadline exceeded"}
        ]
        assert report["summary"]["missing"] == ["e"]
        expiry = {
            "stage": "evaluate",
            "state": "running",
            "message": "deadline exceeded; missing: e",
        }
        fired = [s for s in statuses if expiry.items() <= s.value.items()]
        assert len(fired) == 1  # the expiry fired exactly once
        if policy == "proceed":
            assert report["status"] == "completed"
            assert [r["initiative_id"] for r in report["reports"]] == ["a", "c", "d"]
            assert report["summary"]["reason"] == "deadline exceeded; proceeded without: e"
        else:
            assert (report["status"], report["reports"]) == ("failed", [])
            assert report["summary"]["reason"] == "deadline exceeded; missing: e"
