"""Pages and charts from the hand-built run: marks, escaping, and a report with no link out."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from impact_dashboard import charts, pages
from impact_dashboard.charts import Scale
from impact_dashboard.model import run_view
from impact_dashboard.runs import run_rows

from dashboard.tests import sample


class Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def with_class(html: str, name: str) -> list[dict[str, str | None]]:
    return [a for _, a in tags(html) if name in (a.get("class") or "").split()]


def test_predicted_vs_actual_has_one_mark_per_scaled_initiative_with_both_intervals() -> None:
    svg = str(charts.predicted_actual_chart(run_view(sample.RUN, sample.events()).outcomes))
    assert [a["data-initiative"] for a in with_class(svg, "outcome")] == ["a", "b"]
    assert len(with_class(svg, "mark")) == 2
    assert len(with_class(svg, "predicted-ci")) == 2 and len(with_class(svg, "actual-ci")) == 2


def test_effect_chart_has_a_bar_per_measured_initiative() -> None:
    svg = str(charts.effect_chart(run_view(sample.RUN, sample.events()).portfolio))
    assert [a["data-initiative"] for a in with_class(svg, "effect")] == list("abcde")
    assert [a["data-initiative"] for a in with_class(svg, "selected")] == ["a", "b"]


def test_waterfall_has_every_hop() -> None:
    view = run_view(sample.RUN, sample.events())
    svg = str(charts.waterfall("a", view.chains["a"]))
    assert [a["data-hop"] for a in with_class(svg, "hop")] == [
        charts.hop_label(h) for h in view.chains["a"]
    ]
    assert len(with_class(svg, "hop")) == 10


def test_scale_maps_and_ticks() -> None:
    scale = Scale(0.0, 10.0, 100.0, 200.0)
    assert (scale(0.0), scale(5.0), scale(10.0)) == (100.0, 150.0, 200.0)
    assert scale.ticks() == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    flat = Scale.over([3.0, 3.0], 0, 1)
    assert flat.low < 3.0 < flat.high


def test_the_report_is_self_contained() -> None:
    html = pages.report_page(run_view(sample.RUN, sample.events()))
    assert "<script" not in html and "<link" not in html
    assert not [a for _, a in tags(html) if a.get("src") or a.get("href")]
    assert re.findall(r"url\(", html) == []
    assert html.count('class="mark"') == 2
    outcome_rows = [a for t, a in tags(html) if t == "tr" and "data-predicted" in a]
    assert [
        (a["data-initiative"], a["data-budget"], a["data-predicted"], a["data-actual"])
        for a in outcome_rows
    ] == [
        ("a", "30.0", "5.0", "6.0"),
        ("b", "50.0", "4.0", "3.5"),
    ]


def test_ids_and_reasons_are_escaped() -> None:
    events = sample.events()
    for _, value in events:
        if value.get("initiative_id") == "c":
            value["initiative_id"] = "<c&>"
    html = pages.report_page(run_view(sample.RUN, events))
    assert "<c&>" not in html and "&lt;c&amp;&gt;" in html
    assert "design strength 0.300 below the minimum 0.5" in html
    assert "displaced by a better value per cost: b (0.08), a (0.167)" in html


def test_runs_page_links_each_run() -> None:
    html = pages.runs_page(run_rows(sample.events()))
    assert [a["href"] for t, a in tags(html) if t == "a"] == ["runs/run-1"]
