"""``sweep_budgets`` on the example manifest: the pilots are measured once for every budget,
and each budget's selection and predicted value are those of a separate run at it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from impact_measure.cache import COUNTS
from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.manifest import load_manifest
from impact_orchestrator.sweep import sweep_budgets

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
BUDGETS = [50_000.0, 75_000.0, 100_000.0]
COSTS = {
    "loyalty-opt-in": 15_000,
    "pricing-display-launch": 10_000,
    "product-desc-enhancement": 20_000,
    "regional-promo": 30_000,
    "search-relevance-tuning": 12_000,
}


def test_a_sweep_measures_once_and_matches_separate_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPACT_STORAGE_ROOT", str(tmp_path / "storage"))  # a cold cache
    manifest = load_manifest(EXAMPLES / "manifest.yaml")
    fits, hits = COUNTS.total("fit"), COUNTS.total("hit")
    sweep = sweep_budgets(manifest, BUDGETS, progress=False)
    # the eight pilots, once for all three budgets; nothing at scale
    assert (COUNTS.total("fit") - fits, COUNTS.total("hit") - hits) == (8, 0)
    assert [p.budget for p in sweep.points] == BUDGETS
    assert sweep.n_evaluated == 8
    assert sweep.points[-1].selected == sorted(COSTS)

    for point in sweep.points:
        run = run_embedded(
            manifest.model_copy(update={"budget": point.budget}), run_id="sweep-check"
        )
        assert point.selected == sorted(r["initiative_id"] for r in run["reports"])
        assert point.allocated == run["summary"]["total_budget_allocated"]
        assert point.predicted == pytest.approx(run["summary"]["total_predicted_return"], rel=1e-12)
        # the run's predicted value is the sum of its selected pilots' predictions
        predicted = {p["initiative_id"]: p["predicted_return"] for p in run["pilots"]}
        assert point.predicted == pytest.approx(math.fsum(predicted[i] for i in point.selected))
        # its interval: the value's own, inside the run's (which adds the scale noise)
        assert point.predicted_lower is not None and point.predicted_upper is not None
        assert run["summary"]["predicted_total_lower"] <= point.predicted_lower
        assert point.predicted_lower < point.predicted < point.predicted_upper
        assert point.predicted_upper <= run["summary"]["predicted_total_upper"]

    # by hand at 50,000: the three cheapest of the 100k portfolio, 15,000 + 10,000 + 12,000
    cheapest = ["loyalty-opt-in", "pricing-display-launch", "search-relevance-tuning"]
    assert sweep.points[0].selected == cheapest
    assert sweep.points[0].allocated == 15_000 + 10_000 + 12_000
    at_100k = run_embedded(manifest, run_id="sweep-check")
    pilots = {p["initiative_id"]: p["predicted_return"] for p in at_100k["pilots"]}
    assert sweep.points[0].predicted == pytest.approx(
        pilots["loyalty-opt-in"]
        + pilots["pricing-display-launch"]
        + pilots["search-relevance-tuning"]
    )

    # a second sweep: every pilot from the cache, nothing fitted
    fits, hits = COUNTS.total("fit"), COUNTS.total("hit")
    again = sweep_budgets(manifest, [60_000.0], progress=False)
    assert (COUNTS.total("fit") - fits, COUNTS.total("hit") - hits) == (0, 8)
    assert sorted(again.cached) == sorted(f"{i}:pilot" for i in pilots)


def test_a_budget_below_every_cost_selects_nothing(tmp_path: Path) -> None:
    sweep = sweep_budgets(EXAMPLES / "manifest.yaml", [5_000.0], progress=False)
    (point,) = sweep.points
    assert (point.selected, point.allocated, point.predicted) == ([], 0.0, 0.0)
    assert (point.predicted_lower, point.predicted_upper) == (None, None)
