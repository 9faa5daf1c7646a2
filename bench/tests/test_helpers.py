"""The benchmark helpers compute what the tables claim (no timing here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.allocate_table import parse_table
from bench.hops import hop_samples, hop_summary, span_ms, stamp_ms
from bench.manifests import SCALE_PRODUCTS, generate_manifest, manifest_document
from bench.results import markdown_table, percentile

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def event(event_id: str, cause: str | None, ms: int, **payload: Any) -> dict[str, Any]:
    produced = T0 + timedelta(milliseconds=ms)
    return {"event_id": event_id, "causation_id": cause, "produced_at": produced, **payload}


RUN = [
    ("manifest_submitted", event("m", None, 0)),
    ("measure_requested", event("r1", "m", 10, initiative_id="a", phase="pilot")),
    ("measure_requested", event("r2", "m", 12, initiative_id="b", phase="pilot")),
    ("measure_completed", event("c1", "r1", 110, initiative_id="a", phase="pilot")),
    ("measure_completed", event("c2", "r2", 312, initiative_id="b", phase="pilot")),
    ("run_completed", event("done", "c2", 400)),
]


def test_hop_samples_are_stamp_differences_to_the_cause() -> None:
    assert hop_samples(RUN) == {
        "manifest_submitted → measure_requested[pilot]": [10.0, 12.0],
        "measure_requested[pilot] → measure_completed[pilot]": [100.0, 300.0],
        "measure_completed[pilot] → run_completed": [88.0],
    }


def test_hop_summary_is_in_pipeline_order_with_percentiles() -> None:
    rows = hop_summary(RUN)
    assert [row["hop"] for row in rows] == [
        "manifest_submitted → measure_requested[pilot]",
        "measure_requested[pilot] → measure_completed[pilot]",
        "measure_completed[pilot] → run_completed",
    ]
    assert rows[1] == {
        "hop": "measure_requested[pilot] → measure_completed[pilot]",
        "n": 2,
        "p50_ms": 200.0,
        "p99_ms": 298.0,
        "max_ms": 300.0,
    }


def test_span_is_run_completed_minus_manifest() -> None:
    assert span_ms(RUN) == 400.0
    assert span_ms(RUN[:-1]) is None


def test_stamp_accepts_datetimes_and_epoch_ms() -> None:
    assert stamp_ms(T0) == T0.timestamp() * 1000
    assert stamp_ms(1_700_000_000_123) == 1_700_000_000_123.0


def test_percentile_interpolates_linearly() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    assert percentile(list(range(101)), 99) == 99.0


def test_markdown_table() -> None:
    assert markdown_table(["a", "b"], [[1, "x"]]) == "| a | b |\n|---|---|\n| 1 | x |"


def test_parse_table_reads_the_allocate_bench_output() -> None:
    text = "     n   fast s    status  plain s\n   100     1.08   Optimal     0.55\n"
    assert parse_table(text) == [
        {"n": "100", "fast s": "1.08", "status": "Optimal", "plain s": "0.55"}
    ]


def test_manifest_document_budget_and_initiatives() -> None:
    doc = manifest_document(3)
    costs = [item["cost_to_scale"] for item in doc["INITIATIVES"]]
    assert costs == [1_000.0, 8_919.0, 7_838.0]
    assert doc["budget"] == pytest.approx(max(0.3 * sum(costs), max(costs)))
    assert manifest_document(1)["budget"] == 1_000.0
    seeds = [
        item["measure_config"]["DATA"]["SOURCE"]["CONFIG"]["seed"] for item in doc["INITIATIVES"]
    ]
    assert seeds == [1_000, 1_001, 1_002]


def test_generated_manifest_passes_the_real_loader(tmp_path: Path) -> None:
    manifest = generate_manifest(5, tmp_path)
    assert [spec.initiative_id for spec in manifest.initiatives] == [
        f"bench-0000{i}" for i in range(5)
    ]
    assert manifest.scale_sample_size == SCALE_PRODUCTS
    assert manifest.allocate.component == "MinimaxRegretAllocate"
