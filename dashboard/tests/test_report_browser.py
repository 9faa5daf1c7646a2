"""The static report in a real browser, opened from a file with the network cut."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from impact_dashboard import pages
from impact_dashboard.model import run_view

from dashboard.tests import sample
from tests.support.browser import offline, online, screenshot, table

pytestmark = pytest.mark.browser


def test_report_file_opens_offline_with_its_numbers_and_marks(
    browser: Any, tmp_path: Path, artifacts: Path
) -> None:
    path = tmp_path / "report.html"
    path.write_text(pages.report_page(run_view(sample.RUN, sample.events())))
    offline(browser)
    try:
        browser.get(path.as_uri())
        rows = table(browser, "#outcomes tbody tr")
        marks = browser.execute_script(
            "return document.querySelectorAll('#predicted-actual .mark').length"
        )
        fetched = browser.execute_script("return performance.getEntriesByType('resource').length")
        hops = browser.execute_script(
            "return [...document.querySelectorAll('.chain[data-initiative=\"a\"] .hop')]"
            ".map(e => e.dataset.hop)"
        )
        screenshot(browser, artifacts / "sample-report.png")
    finally:
        online(browser)
    assert [(r["initiative"], r["budget"], r["predicted"], r["actual"]) for r in rows] == [
        ("a", "30.0", "5.0", "6.0"),
        ("b", "50.0", "4.0", "3.5"),
    ]
    assert (marks, fetched) == (2, 0)
    assert len(hops) == 10 and hops[0] == "manifest_submitted" and hops[-1] == "run_completed"
    assert (
        "design strength 0.300 below the minimum 0.5"
        in browser.find_element("id", "portfolio").text
    )
