"""Embedded runs from the local history in the dashboard: the runs list (name, mode), the
run page and the static report, read without the broker; and the sweep chart."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, cast

import pytest
from impact_dashboard import pages
from impact_dashboard.commands import write_report
from impact_dashboard.runs import run_rows
from impact_dashboard.source import RunSource
from impact_dashboard.sweep_chart import sweep_chart, write_chart
from impact_orchestrator.history import RunHistory
from impact_orchestrator.sweep import Sweep, SweepPoint

from dashboard.tests import sample


def named_events(name: str = "Q4 retail") -> list[tuple[str, dict[str, Any]]]:
    events = sample.events()
    events[0][1]["name"] = name
    return events


def recorded(tmp_path: Path) -> RunHistory:
    history = RunHistory(tmp_path / "runs")
    history.write(sample.RUN, named_events())
    return history


def test_a_recorded_run_reads_back_as_its_events(tmp_path: Path) -> None:
    assert recorded(tmp_path).read(sample.RUN) == named_events()


def test_the_runs_list_shows_name_and_mode() -> None:
    rows = run_rows(named_events(), mode="embedded")
    assert [(r.run_id, r.name, r.mode, r.status) for r in rows] == [
        (sample.RUN, "Q4 retail", "embedded", "completed")
    ]
    html = pages.runs_page(rows)
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert cells == ["Q4 retail", "embedded", "2026-11-25 12:00:00 UTC"]


class NoBroker:
    """A bus that must not be used: an embedded run is read from the history."""

    prefix = "impact."

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the broker was used ({name})")


def test_a_recorded_run_is_shown_without_the_broker(tmp_path: Path) -> None:
    source = RunSource(cast(Any, NoBroker()), history=recorded(tmp_path))
    view = asyncio.run(source.run(sample.RUN))
    assert (view.name, view.status, view.budget, view.allocated) == (
        "Q4 retail",
        "completed",
        100.0,
        80.0,
    )
    assert asyncio.run(source.dead_letters(sample.RUN)) == []

    async def follow() -> list[str]:
        return [name async for name, _ in source.follow(sample.RUN)]

    assert asyncio.run(follow()) == [name for name, _ in named_events()]
    html = pages.run_page(view)
    assert "<h1>Q4 retail <small" in html and f"run {sample.RUN}</small>" in html


def test_impact_report_writes_a_recorded_run_without_the_broker(tmp_path: Path) -> None:
    def no_bus() -> Any:
        raise AssertionError("the broker was asked for")

    page = tmp_path / "report.html"
    view = write_report(no_bus, sample.RUN, page, history=recorded(tmp_path))
    assert view.status == "completed"
    assert "<title>Outcome report Q4 retail — Impact Engine</title>" in page.read_text()


def sweep_of(*points: tuple[float, float, float | None, float | None]) -> Sweep:
    return Sweep(
        points=[SweepPoint(b, ["x"], b / 2, v, lo, hi) for b, v, lo, hi in points],
        n_evaluated=1,
        failures=[],
        cached=[],
    )


def test_the_sweep_chart_has_a_point_per_budget_with_its_numbers(tmp_path: Path) -> None:
    sweep = sweep_of((50_000, 10.0, 8.0, 12.0), (100_000, 25.0, None, None))
    svg = str(sweep_chart(sweep, "Q4 <sweep>"))
    points = re.findall(r'class="point" cx="([\d.]+)" cy="([\d.]+)"[^>]*data-budget="([^"]+)"', svg)
    assert [p[2] for p in points] == ["50000", "100000"]
    (x1, y1, _), (x2, y2, _) = points
    assert float(x1) < float(x2) and float(y1) > float(y2)  # more value is higher up
    assert "Q4 &lt;sweep&gt;" in svg
    assert svg.count('stroke-width="6"') == 1  # one interval: the second point has none
    write_chart(sweep, tmp_path / "s.html", "Q4")
    page = (tmp_path / "s.html").read_text()
    assert page.startswith("<!doctype html>") and "<td>100,000</td>" in page


@pytest.mark.parametrize("suffix", [".svg", ".SVG", ".chart"])
def test_any_other_suffix_gets_the_bare_svg(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"s{suffix}"
    write_chart(sweep_of((1.0, 1.0, None, None)), path, "t")
    assert path.read_text().startswith("<svg ")
