"""No horizontal overflow at 1,280 px: the report and the run page in headless Chromium,
with screenshots in ``var/test-artifacts/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from impact_dashboard import pages
from impact_dashboard.model import run_view

from dashboard.tests import sample, wide
from tests.support.browser import screenshot

pytestmark = pytest.mark.browser

WIDTH = 1280
#: Per table: how far its right edge passes the page's content box (px, > 0: overflow),
#: and the page's scroll width against the viewport.
MEASURE = """
const body = document.body.getBoundingClientRect();
const tables = [...document.querySelectorAll('table')].map(t => [
  t.id, Math.round(t.getBoundingClientRect().right - body.right),
  t.scrollWidth - t.clientWidth]);
return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
        viewport: document.documentElement.clientWidth, tables: tables};
"""


def measure(browser: Any, html: str, path: Path, shot: Path) -> dict[str, Any]:
    path.write_text(html, encoding="utf-8")
    browser.set_window_size(WIDTH, 900)
    browser.get(path.as_uri())
    inner = browser.execute_script("return window.innerWidth")
    browser.set_window_size(WIDTH + (WIDTH - inner), 900)  # the viewport itself is 1,280 px
    found: dict[str, Any] = browser.execute_script(MEASURE)
    screenshot(browser, shot, width=WIDTH + (WIDTH - inner))
    return found


@pytest.mark.parametrize(("name", "events"), [("sample", sample.events), ("wide", wide.events)])
def test_report_fits_1280_px(
    browser: Any, tmp_path: Path, artifacts: Path, name: str, events: Any
) -> None:
    view = run_view(wide.LONG + "run" if name == "wide" else sample.RUN, events())
    found = measure(
        browser, pages.report_page(view), tmp_path / "report.html", artifacts / f"report-{name}.png"
    )
    assert found["inner"] == WIDTH  # the window's viewport, its scroll bar included
    assert found["scroll"] <= found["viewport"], found
    assert [t for t in found["tables"] if t[1] > 0 or t[2] > 0] == [], found
    assert {t[0] for t in found["tables"]} >= {"portfolio", "outcomes"}


def test_run_page_fits_1280_px(browser: Any, tmp_path: Path, artifacts: Path) -> None:
    view = run_view(wide.LONG + "run", wide.events())
    found = measure(
        browser, pages.run_page(view), tmp_path / "run.html", artifacts / "run-wide.png"
    )
    assert found["scroll"] <= found["viewport"], found
    assert [t for t in found["tables"] if t[1] > 0 or t[2] > 0] == [], found
