"""The allocate benchmark reports what it measured (small sizes, no timing claims)."""

from __future__ import annotations

from bench.allocate_bench import HEADERS, run_isolated, table_row


def test_one_isolated_run_reports_status_cost_and_memory() -> None:
    row = run_isolated("cents", 300, 30.0, "fast")
    assert (row["family"], row["n"], row["method"], row["status"]) == (
        "cents",
        300,
        "fast",
        "Optimal",
    )
    assert row["gap"] == 0.0 and row["objective"] > 0 and row["selected"] > 0
    assert 0 < row["wall_s"] < 30.0 and row["cpu_s"] > 0
    assert 30 < row["peak_rss_mb"] < 2048
    assert row["cbc_peak_rss_mb"] == 0  # the fast path needs no CBC here
    cells = table_row(row)
    assert len(cells) == len(HEADERS)
    assert cells[:3] == ["cents", "300", "fast"] and cells[6:8] == ["Optimal", "0"]


def test_plain_runs_report_cbc_memory() -> None:
    row = run_isolated("project", 60, 30.0, "plain")
    assert row["status"] == "Optimal" and row["cbc_peak_rss_mb"] > 0
    assert table_row(row)[5] == str(max(row["peak_rss_mb"], row["cbc_peak_rss_mb"]))
