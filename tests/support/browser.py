"""A real browser for the dashboard tests: Debian's chromium, headless, through Selenium
and the system chromedriver (no driver or browser download).

* ``browser`` (session): a Chrome WebDriver; the test is skipped, saying why, when
  chromium or chromedriver is missing (``apt-get install chromium chromium-driver``; CI
  installs them and sets ``IMPACT_REQUIRE_BROWSER=1``, which turns the skip into a
  failure). Every non-loopback request goes to a dead proxy on 127.0.0.1, and
  Chromium's own background traffic is switched off.
* ``artifacts``: the folder for screenshots (``IMPACT_TEST_ARTIFACTS``, else
  ``var/test-artifacts/``; never committed).
* ``offline(driver)``: cut the page's network (DevTools network emulation).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    "--proxy-server=http://127.0.0.1:9",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
)


def chromium() -> tuple[str, str] | None:
    """(browser, driver) paths, or None when either is missing."""
    browser = next((path for name in CHROMIUM if (path := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    paths = chromium()
    if paths is None and os.environ.get("IMPACT_REQUIRE_BROWSER"):
        pytest.fail("IMPACT_REQUIRE_BROWSER is set (CI) but chromium or chromedriver is missing")
    if paths is None:
        pytest.skip(
            "no chromium and chromedriver on PATH: apt-get install chromium chromium-driver "
            "(.ci/run installs them)"
        )
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager never downloads
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=paths[1]), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    base = Path(os.environ.get("IMPACT_TEST_ARTIFACTS") or ROOT / "var" / "test-artifacts")
    folder = base / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def offline(driver: Any) -> None:
    """No network for the pages this driver opens from now on."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )


def online(driver: Any) -> None:
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def screenshot(driver: Any, path: Path, width: int = 1280) -> Path:
    """The whole page (the window grown to the document's height) as a PNG."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 40, 8000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    return path


def table(driver: Any, css: str) -> list[dict[str, str]]:
    """The ``data-*`` attributes of every row matching ``css``."""
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(e => ({...e.dataset}))", css
        )
    )
