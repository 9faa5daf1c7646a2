"""The dashboard in a real browser on the real stack: a 24-initiative run followed live,
its page equal to ``impact tail --json``'s report, and the static report opened offline.

Screenshots of the runs list, the run page and the report land in the ``artifacts``
folder (``var/test-artifacts/``), never in git.
"""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from impact_cli.main import app
from impact_observe.bus import Bus
from impact_observe.lineage import HOPS
from openpyxl import load_workbook
from typer.testing import CliRunner

from bench.manifests import generate_manifest
from tests.integration.stack import module_stack
from tests.support.browser import offline, online, screenshot, table
from tests.support.kafka import unused_port

pytestmark = [pytest.mark.integration, pytest.mark.browser]

N_INITIATIVES = 24
RUN_TIMEOUT_S = 300
STATES_JS = """
window.__states = [];
window.__marker = "same page";
const record = () => window.__states.push(
  [...document.querySelectorAll('#stages .stage')]
    .map(e => `${e.dataset.stage}:${e.dataset.completed}/${e.dataset.total}`).join(' '));
new MutationObserver(record).observe(document.getElementById('run'), {childList: true});
"""

#: How far the page is wider than the window (> 0: horizontal overflow).
WIDTH_JS = "return document.documentElement.scrollWidth - document.documentElement.clientWidth"


stack = module_stack("dash-logs")


@pytest.fixture
def dashboard(bus: Bus, schema_registry_url: str, tmp_path: Path) -> Iterator[str]:
    """``impact ui`` as its own process on a free loopback port; its base URL."""
    port = unused_port()
    impact = Path(sys.executable).parent / "impact"
    log = (tmp_path / "ui.log").open("w")
    process = subprocess.Popen(
        [str(impact), "ui", "--port", str(port), *connection(bus, schema_registry_url)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(base):
            assert process.poll() is None, (tmp_path / "ui.log").read_text()
            assert time.monotonic() < deadline, "impact ui did not answer /healthz in 60 s"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def connection(bus: Bus, registry_url: str) -> list[str]:
    return ["--bootstrap", bus.bootstrap, "--registry", registry_url, "--prefix", bus.prefix]


def _wait_until_ended(driver: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while driver.execute_script("return document.body.dataset.live") != "ended":
        assert time.monotonic() < deadline, "the run page did not end on the report"
        time.sleep(0.2)


def report_rows(run: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (r["initiative_id"], repr(r["budget_allocated"]), repr(r["predicted_return"]),
         repr(r["actual_return"]))
        for r in sorted(run["reports"], key=lambda r: r["initiative_id"])
    ]  # fmt: skip


def page_rows(driver: Any) -> list[tuple[str, str, str, str]]:
    rows = table(driver, "#outcomes tbody tr")
    return sorted((r["initiative"], r["budget"], r["predicted"], r["actual"]) for r in rows)


def hops_of(driver: Any, initiative: str) -> list[str]:
    return list(
        driver.execute_script(
            "const chain = `.chain[data-initiative='${arguments[0]}'] .hop`;"
            "return [...document.querySelectorAll(chain)].map(e => e.dataset.hop)",
            initiative,
        )
    )


async def test_run_page_follows_a_run_live_and_the_report_matches_tail(
    bus: Bus, schema_registry_url: str, dashboard: str, browser: Any, tmp_path: Path,
    artifacts: Path,
) -> None:  # fmt: skip
    manifest = generate_manifest(N_INITIATIVES, tmp_path)
    run_id = f"dash-{int(time.time())}"
    browser.get(f"{dashboard}/runs/{run_id}")
    assert "Waiting for the run's first event" in browser.find_element("id", "stages").text
    browser.execute_script(STATES_JS)

    await bus.publish_manifest(manifest.to_event_payload(), run_id)
    await asyncio.to_thread(_wait_until_ended, browser, RUN_TIMEOUT_S)

    # Live: the same page (no reload) went through several progress states to the report.
    assert browser.execute_script("return window.__marker") == "same page"
    states = browser.execute_script("return window.__states")
    assert len(set(states)) >= 3, states
    measured = [int(s.split("measure:")[1].split("/")[0]) for s in states if "measure:" in s]
    assert measured == sorted(measured) and measured[-1] == N_INITIATIVES, states
    assert browser.find_element("id", "run-status").text == "completed"
    screenshot(browser, artifacts / "run-page.png")

    # The page's table is `impact tail --json`'s report, number for number.
    args = [run_id, "--json", "--timeout", "60", *connection(bus, schema_registry_url)]
    tailed = await asyncio.to_thread(CliRunner().invoke, app, ["tail", *args])
    assert tailed.exit_code == 0, tailed.output
    run = json.loads(tailed.output)
    assert len(run["reports"]) >= 2
    assert page_rows(browser) == report_rows(run)
    portfolio = table(browser, "#portfolio tbody tr")
    assert len(portfolio) == N_INITIATIVES
    assert sorted(r["initiative"] for r in portfolio if r["selected"] == "true") == sorted(
        r["initiative_id"] for r in run["reports"]
    )

    # One mark per scaled initiative; every hop of a chosen initiative.
    marks = browser.execute_script("return document.querySelectorAll('#predicted-actual .mark')")
    assert len(marks) == len(run["reports"])
    chosen = run["reports"][0]["initiative_id"]
    full_chain = [name + (f" ({phase})" if phase else "") for name, phase in HOPS]
    assert hops_of(browser, chosen) == full_chain

    # The runs list shows the run, completed, with its budget and initiatives.
    browser.get(dashboard + "/")
    row = browser.find_element("css selector", f"tr[data-run='{run_id}']").text
    assert "completed" in row and f"{manifest.budget:,.0f}" in row and f" {N_INITIATIVES} " in row
    screenshot(browser, artifacts / "runs-list.png")

    # The stage labels are final; the page has the executive summary and no overflow.
    browser.get(f"{dashboard}/runs/{run_id}")
    labels = [e.text for e in browser.find_elements("css selector", "#stages .stage-label")]
    assert labels and not [text for text in labels if "running" in text], labels
    assert "initiatives selected" in browser.find_element("id", "executive-summary").text
    assert browser.execute_script(WIDTH_JS) <= 0

    # The static report and the portfolio files, written by the CLI; the report opens
    # from the file with no network.
    path, csv_path, xlsx_path = (tmp_path / f"report.{x}" for x in ("html", "csv", "xlsx"))
    files = ["--html", str(path), "--csv", str(csv_path), "--xlsx", str(xlsx_path)]
    written = await asyncio.to_thread(
        CliRunner().invoke, app, ["report", run_id, *files, *connection(bus, schema_registry_url)]
    )
    assert written.exit_code == 0, written.output
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == N_INITIATIVES
    exported = sorted(
        (r["initiative_id"], r["budget_allocated"], r["predicted"], r["actual"])
        for r in rows
        if r["selected"] == "yes"
    )
    assert exported == [(i, b, p, a) for i, b, p, a in report_rows(run)]
    assert all(r["reason"] and r["reason_kind"] != "pending" for r in rows)
    sheet = load_workbook(xlsx_path)["Portfolio"]
    assert [c.value for c in sheet["A"]][1:] == [r["initiative_id"] for r in rows]
    offline(browser)
    try:
        browser.get(path.as_uri())
        assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
        assert page_rows(browser) == report_rows(run)
        offline_marks = browser.execute_script(
            "return document.querySelectorAll('#predicted-actual .mark').length"
        )
        assert offline_marks == len(run["reports"])
        assert hops_of(browser, chosen) == full_chain
        assert browser.execute_script(WIDTH_JS) <= 0
        screenshot(browser, artifacts / "report.png")
    finally:
        online(browser)
