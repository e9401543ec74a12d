"""The web page in a real browser: Debian's chromium, headless, driven by Playwright.

Skips when chromium is missing, unless LLASMOL_REQUIRE_BROWSER=1 (CI), where it fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llasmol.serve import ServeSettings, create_app
from tests.serve.serve_helpers import FAST_TASK, live_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-proxy-server"]
SCREENSHOT = Path("/tmp/llasmol_serve_page.png")
WAIT_MS = 60_000

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    required = os.environ.get("LLASMOL_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("LLASMOL_REQUIRE_BROWSER=1 but the playwright package is not installed")
        pytest.skip("playwright is not installed")
    if not CHROMIUM.exists():
        if required:
            pytest.fail(f"LLASMOL_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def page_url(tiny_llasmol: Any) -> Iterator[str]:
    app = create_app(tiny_llasmol, ServeSettings(max_chat_new_tokens=24, model_name="tiny-llama"))
    with live_server(app) as base_url:
        yield base_url


def test_page_answers_a_query_and_draws_the_molecule(browser: Any, page_url: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(WAIT_MS)
    outside_requests: list[str] = []
    page.on("request", lambda request: outside_requests.append(request.url)
            if not request.url.startswith(page_url) else None)
    page.goto(page_url)
    page.wait_for_function("document.querySelectorAll('#task option').length >= 15")
    page.select_option("#task", FAST_TASK)
    page.locator("#examples .example").first.click()
    typed = page.input_value("#input")
    assert typed, "clicking an example fills the input"
    page.click("#submit")
    page.wait_for_selector("#input-drawing svg")
    page.wait_for_function("document.querySelector('#timing').textContent.includes('Answered')")
    assert page.locator("#answer").inner_text().strip()
    assert page.locator("#validity").inner_text() in ("valid answer", "no valid answer")
    assert page.locator("#reference").inner_text().startswith("Reference answer")
    assert page.locator("#input-drawing svg path").count() > 0  # bonds drawn by RDKit
    page.click("details summary")
    assert page.locator("#raw").inner_text().strip()
    assert page.locator("#model-name").inner_text() == "tiny-llama"
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert outside_requests == []
    page.close()


def test_page_shows_why_a_smiles_is_invalid(browser: Any, page_url: str) -> None:
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(page_url)
    page.wait_for_function("document.querySelectorAll('#task option').length >= 15")
    page.select_option("#task", FAST_TASK)
    page.fill("#input", "C1CC")
    page.click("#submit")
    page.wait_for_selector("#error:not(.hidden)")
    error = page.locator("#error").inner_text()
    assert "invalid SMILES" in error and "ring" in error and "422" in error
    page.close()


def test_page_asks_a_free_text_question(browser: Any, page_url: str) -> None:
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(page_url)
    page.wait_for_function("document.querySelectorAll('#task option').length >= 15")
    page.select_option("#task", "__chat__")
    page.fill("#input", "What is the molecular formula of <SMILES> CCO </SMILES>?")
    page.click("#submit")
    page.wait_for_selector("#input-drawing svg")
    page.wait_for_function("document.querySelector('#timing').textContent.includes('Answered')")
    assert page.locator("#result-body").is_visible()
    page.close()
