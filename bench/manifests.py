"""Generated benchmark manifests: N cheap randomised experiments on the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from impact_orchestrator.manifest import Manifest, load_manifest

#: Units per pilot measurement (simulated products) and at scale: small, so the
#: benchmark times the system, not statsmodels.
PILOT_PRODUCTS = 120
SCALE_PRODUCTS = 240
BUDGET_SHARE = 0.3


def initiative(
    index: int, *, name: str | None = None, seed: int | None = None, outcome: str = "revenue"
) -> dict[str, Any]:
    """Initiative ``index``: an OLS experiment of ``outcome`` with its own seed, effect and
    cost; ``name`` and ``seed`` default to ``bench-NNNNN`` and 1000 + ``index``."""
    return {
        "initiative_id": name or f"bench-{index:05d}",
        "cost_to_scale": float(1_000 + (index * 7_919) % 9_000),
        "measure_config": {
            "DATA": {
                "SOURCE": {
                    "type": "simulator",
                    "CONFIG": {
                        "seed": 1_000 + index if seed is None else seed,
                        "n_products": PILOT_PRODUCTS,
                        "true_effect": float(1 + index % 9),
                        "design": "cross_section",
                    },
                }
            },
            "MEASUREMENT": {
                "MODEL": "experiment",
                "PARAMS": {"outcome_column": outcome, "treatment_column": "treated"},
            },
        },
    }


def manifest_document(n: int, max_workers: int = 2) -> dict[str, Any]:
    """The YAML document of an ``n``-initiative manifest.

    Budget: 30 % of the total cost, at least the dearest initiative's cost.
    """
    initiatives = [initiative(i) for i in range(n)]
    total_cost = sum(item["cost_to_scale"] for item in initiatives)
    max_cost = max(item["cost_to_scale"] for item in initiatives)
    return {
        "budget": max(round(BUDGET_SHARE * total_cost, 2), max_cost),
        "scale_sample_size": SCALE_PRODUCTS,
        "max_workers": max_workers,
        "deadline": 3_600,
        "deadline_policy": "fail",
        "seed": 20261125,
        # every run measures afresh: a cached measurement would time a file read
        "MEASURE": {"component": "Measure", "cache": False},
        "EVALUATE": {"component": "Evaluate"},
        "ALLOCATE": {"component": "MinimaxRegretAllocate"},
        "INITIATIVES": initiatives,
    }


def generate_manifest(n: int, directory: Path, max_workers: int = 2) -> Manifest:
    """Write ``manifest-<n>.yaml`` into ``directory`` and load it through the real loader."""
    path = directory / f"manifest-{n}.yaml"
    path.write_text(yaml.safe_dump(manifest_document(n, max_workers), sort_keys=False))
    return load_manifest(path)
