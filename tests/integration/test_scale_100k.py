"""A 100,000-initiative manifest published through ``impact publish`` and run to completion
on the real broker and registry, the services as processes.

The cheapest work per initiative: a randomised experiment on 40 simulated products, a
budget that selects a handful for the scale phase. Prints how long each stage took and the
peak RSS of every service. Marked ``scale`` (``make test`` leaves it out; ``make scale``
runs it). ``IMPACT_SCALE_INITIATIVES`` runs another size.

Last run (2026-12-01, load 7-14 on 2 cores): ``run_completed`` after 3,666 s, 17 scaled;
numbers in docs/reliability.md "Known limits".
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
from impact_cli.main import app
from impact_cli.processes import SERVICES, ServiceProcesses
from impact_kafka.config import KafkaClientSettings
from impact_kafka.read import read_to_end
from impact_observe.bus import Bus
from impact_orchestrator.changelog_restore import restore_runs
from typer.testing import CliRunner

from bench.manifests import manifest_document
from tests.integration.stack import ROOT
from tests.support.kafka import wait_for

N = int(os.environ.get("IMPACT_SCALE_INITIATIVES", "100000"))
RUN_TIMEOUT_S = float(os.environ.get("IMPACT_SCALE_TIMEOUT_S", "10800"))
PRODUCTS = 40  # the fewest rows an experiment accepts is 30
BUDGET = 20_000.0  # costs are 1,000 to 9,999: a handful of initiatives is scaled
REPLICAS = {"orchestrator": 1, "measure": 2, "evaluate": 1, "allocate": 1}
RUN_ID = f"scale-{N}"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.scale,
    pytest.mark.timeout(RUN_TIMEOUT_S + 900),
]


def write_manifest(directory: Path) -> Path:
    """``N`` cheap experiments as a JSON manifest (the loader's fast path)."""
    document = manifest_document(N)
    for item in document["INITIATIVES"]:
        item["measure_config"]["DATA"]["SOURCE"]["CONFIG"]["n_products"] = PRODUCTS
    document.update(budget=BUDGET, scale_sample_size=PRODUCTS, deadline=RUN_TIMEOUT_S)
    path = directory / f"manifest-{N}.json"
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def stack(
    kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> Iterator[ServiceProcesses]:
    services = ServiceProcesses(
        kafka_bootstrap,
        schema_registry_url,
        tmp_path / "logs",
        {name: REPLICAS[name] for name in SERVICES},
        prefix_stem="scale",
        data_root=ROOT,
        env={"IMPACT_LOG_LEVEL": "INFO", "OPENBLAS_NUM_THREADS": "1"},
    ).start()
    yield services
    print_peak_rss(services)
    services.stop()


def print_peak_rss(stack: ServiceProcesses) -> None:
    """VmHWM (peak resident set) of every replica still running."""
    for name, process in sorted(stack.processes.items()):
        status = Path(f"/proc/{process.pid}/status")
        if process.poll() is None and status.exists():
            peak = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM"))
            print(f"peak RSS {name}: {int(peak.split()[1]) / 1024:.0f} MiB")


async def test_a_100k_initiative_manifest_runs_to_completion(
    stack: ServiceProcesses, kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    await wait_for(lambda: _assigned(stack), timeout=300, message="services did not get partitions")
    manifest = write_manifest(tmp_path)
    connection = ["--bootstrap", kafka_bootstrap, "--registry", schema_registry_url]
    started = time.monotonic()
    command = ["publish", str(manifest), "--run-id", RUN_ID, "--prefix", stack.prefix]
    published = await asyncio.to_thread(CliRunner().invoke, app, [*command, *connection])
    assert published.exit_code == 0, published.output
    assert published.output.strip().splitlines()[-1] == RUN_ID
    stages: dict[str, float] = {"publish": time.monotonic() - started}

    bus = Bus(kafka_bootstrap, schema_registry_url, stack.prefix)
    try:
        completed = await _follow(bus, stages, started)
    finally:
        await bus.close()
    print(f"{N} initiatives, seconds since publish started:", json.dumps(stages, indent=1))

    assert completed is not None, f"run {RUN_ID} did not complete: stages reached {stages}"
    summary = completed["summary"]
    assert (completed["status"], completed["failures"], summary["missing"]) == (
        "completed",
        [],
        [],
    )
    assert (summary["n_initiatives"], summary["n_evaluated"], summary["n_failed"]) == (N, N, 0)
    assert 0 < summary["n_selected"] == len(completed["reports"])
    restored = await _restore(stack, kafka_bootstrap)
    assert restored.done and restored.result is not None
    assert restored.result["reports"] == completed["reports"]
    assert len(restored.pilots) == len(restored.evaluations) == N


async def _assigned(stack: ServiceProcesses) -> bool:
    assert not stack.dead(), stack.death_report(stack.dead())
    return all(stack.partitions(f"{name}-0") for name in SERVICES)


async def _follow(bus: Bus, stages: dict[str, float], started: float) -> dict[str, Any] | None:
    """Follow the run; note when each stage's barrier first counts its last result."""
    events = ["run_status", "run_completed"]
    following = bus.follow(RUN_ID, events, timeout_s=RUN_TIMEOUT_S)
    async with aclosing(following) as follow:
        async for name, value in follow:
            if name == "run_completed":
                stages["run_completed"] = time.monotonic() - started
                return value
            stage, done, total = value["stage"], value["completed"], value["total"]
            if done == 1 and f"{stage} first" not in stages:
                stages[f"{stage} first"] = time.monotonic() - started
            if total >= 10 and done % (total // 10) == 0:
                print(f"{stage} [{done}/{total}] at {time.monotonic() - started:.0f} s", flush=True)
            if done == total and stage not in stages:
                stages[stage] = time.monotonic() - started
                print(f"{stage} [{done}/{total}] at {stages[stage]:.0f} s", flush=True)
    return None


async def _restore(stack: ServiceProcesses, bootstrap: str) -> Any:
    """The run as a fresh orchestrator replica would rebuild it from the changelog."""
    values: dict[bytes, bytes] = {}
    settings = KafkaClientSettings(bootstrap_servers=bootstrap)
    topic = f"{stack.prefix}orchestrator.changelog"
    records = read_to_end(settings, [topic], timeout_s=300)
    async with aclosing(records) as changelog:
        async for record in changelog:
            if record.value is None:
                values.pop(record.key or b"", None)
            else:
                values[record.key or b""] = record.value
    print(f"changelog: {len(values)} keys, {sum(map(len, values.values()))} bytes")
    return restore_runs(values.values()).states[RUN_ID]
