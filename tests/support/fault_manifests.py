"""Manifests for the fault suite and the embedded-mode reference outcome."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.manifest import Manifest, load_manifest

import tests.support.fault_components  # noqa: F401  (registers the test-only components)
from bench.manifests import initiative as simulated


def outcome(run: dict[str, Any]) -> dict[str, Any]:
    """What must match between Kafka and embedded mode (not ids or timestamps)."""
    return {key: run[key] for key in ("status", "reports", "pilots", "failures", "summary")}


async def embedded_outcome(manifest: Manifest, run_id: str) -> dict[str, Any]:
    """The embedded-mode outcome of ``manifest`` (in a thread, concurrent with Kafka)."""
    return outcome(await asyncio.to_thread(run_embedded, manifest, run_id=run_id))


def initiative(index: int, broken: bool = False) -> dict[str, Any]:
    """A cheap seeded OLS experiment on the simulator (``broken``: a missing column)."""
    outcome = "no_such_column" if broken else "revenue"
    return simulated(index, name=f"i{index:03d}", seed=500 + index, outcome=outcome)


def cohort(
    directory: Path,
    n: int,
    *,
    measure: dict[str, Any] | None = None,
    allocate: dict[str, Any] | None = None,
    broken: tuple[int, ...] = (),
    ids: list[str] | None = None,
    **run_level: Any,
) -> Manifest:
    """An ``n``-initiative manifest (budget 30 % of the cost), loaded by the real loader."""
    items = [initiative(i, broken=i in broken) for i in range(n)]
    for item, name in zip(items, ids or [], strict=False):
        item["initiative_id"] = name
    total = sum(item["cost_to_scale"] for item in items)
    document = {
        "budget": round(max(0.3 * total, max(i["cost_to_scale"] for i in items)), 2),
        "scale_sample_size": 240,
        "max_workers": 4,
        "seed": 20261125,
        "MEASURE": measure or {"component": "PacedMeasure"},
        "EVALUATE": {"component": "Evaluate"},
        "ALLOCATE": allocate or {"component": "PacedAllocate"},
        "INITIATIVES": items,
        **run_level,
    }
    path = directory / f"manifest-{n}-{len(list(directory.glob('manifest-*')))}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return load_manifest(path, data_root=directory)
