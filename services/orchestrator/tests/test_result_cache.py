"""Re-runs in embedded mode reuse unchanged measurements (``impact_measure.cache``): a
budget-only change measures nothing and reports what a cold run reports; a changed data
file re-measures exactly what reads it; the manifest switch turns the cache off."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from impact_measure.cache import COUNTS
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.manifest import Manifest, load_manifest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
PILOTS = [
    "checkout-flow-ab-test",
    "free-shipping-threshold",
    "loyalty-opt-in",
    "pricing-display-launch",
    "product-desc-enhancement",
    "recommendation-engine-v2",
    "regional-promo",
    "search-relevance-tuning",
]
SELECTED_AT_100K = [
    "loyalty-opt-in",
    "pricing-display-launch",
    "product-desc-enhancement",
    "regional-promo",
    "search-relevance-tuning",
]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "storage"
    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(directory))
    return directory


def counted_run(manifest: Manifest) -> tuple[dict[str, Any], int, int]:
    """The report, and how many model fits and cache hits the run made."""
    fits, hits = COUNTS.total("fit"), COUNTS.total("hit")
    report = run_embedded(manifest, run_id="cache-test")
    return report, COUNTS.total("fit") - fits, COUNTS.total("hit") - hits


def without_cached(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "cached"}


def test_a_budget_only_rerun_measures_nothing_and_reports_as_a_cold_run(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = load_manifest(EXAMPLES / "manifest.yaml")
    cold, fits, hits = counted_run(manifest)
    assert (fits, hits) == (8 + 5, 0)
    assert [r["initiative_id"] for r in cold["reports"]] == SELECTED_AT_100K
    assert cold["cached"] == {}

    cheaper = manifest.model_copy(update={"budget": 75_000.0})
    rerun, fits, hits = counted_run(cheaper)
    selected = [r["initiative_id"] for r in rerun["reports"]]
    assert selected == [i for i in SELECTED_AT_100K if i != "product-desc-enhancement"]
    assert (fits, hits) == (0, 8 + 4)
    assert rerun["cached"] == {
        i: ["pilot", "scale"] if i in selected else ["pilot"] for i in PILOTS
    }

    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(tmp_path / "fresh"))
    fresh, fits, _ = counted_run(cheaper)
    assert fits == 8 + 4
    assert fresh["cached"] == {}
    assert without_cached(rerun) == without_cached(fresh)


def test_a_changed_data_file_remeasures_exactly_the_initiatives_that_read_it(
    root: Path, tmp_path: Path
) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    manifest = load_manifest(examples / "manifest.yaml")
    cold, fits, _ = counted_run(manifest)
    assert fits == 13

    pilot_file = examples / "data" / "retail_pilot.csv"  # free-shipping-threshold's pilot data
    lines = pilot_file.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",90.5"  # one revenue value, nudged
    pilot_file.write_text("\n".join(lines) + "\n")
    rerun, fits, hits = counted_run(load_manifest(examples / "manifest.yaml"))
    # pooling lets one changed estimate move the others' posteriors, so the selection may
    # change: a newly selected initiative is measured at scale, nothing else is re-measured
    selected = {r["initiative_id"] for r in rerun["reports"]}
    kept = selected & set(SELECTED_AT_100K)
    assert (fits, hits) == (1 + len(selected - kept), 7 + len(kept - {"free-shipping-threshold"}))
    expected = {i: ["pilot", "scale"] if i in kept else ["pilot"] for i in PILOTS}
    del expected["free-shipping-threshold"]
    assert rerun["cached"] == expected
    changed = {p["initiative_id"]: p["effect_estimate"] for p in rerun["pilots"]}
    before = {p["initiative_id"]: p["effect_estimate"] for p in cold["pilots"]}
    assert {i for i in before if changed[i] != before[i]} == {"free-shipping-threshold"}


def test_the_manifest_switch_turns_the_cache_off(root: Path, tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    text = (examples / "manifest.yaml").read_text()
    switched = text.replace(
        "MEASURE:\n  component: Measure\n", "MEASURE:\n  component: Measure\n  cache: false\n"
    )
    assert switched != text
    (examples / "off.yaml").write_text(switched)
    counted_run(load_manifest(examples / "manifest.yaml"))
    off = load_manifest(examples / "off.yaml")
    assert off.measure.kwargs == {"cache": False}
    report, fits, hits = counted_run(off)
    assert (fits, hits) == (13, 0)
    assert report["cached"] == {}
    assert load_manifest(examples / "manifest.yaml").without_cache().measure == off.measure
