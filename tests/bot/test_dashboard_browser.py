"""The dashboard in a real headless browser: Debian's chromium (/usr/bin/chromium) driven by playwright (its own
browser download is never used). It signs in through the signed link as Slack hands it out, sees each card with
the values worked out by hand from the seeded history of tests/bot/test_reports.py, sees every chart load, switches
the period and the team through the page's own form, signs out, and checks that no session and a stranger's link
get 403. The page must load without a single Content-Security-Policy complaint. Screenshots go under the test's
tmp_path.

Skipped when chromium (or playwright) is missing, unless REQUIRE_BROWSER=1 (as in .ci/run): then it fails.
DASHBOARD_SCREENSHOT=PATH also saves the 7-day view there (the README's picture: tests/fixtures/readme/dashboard.png).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.dashboard_access import LINK_LIFETIME
from bot.desk import Desk
from bot.links import Purpose, sign
from tests.bot.dashboard_helpers import BEA, STRANGER, dashboard_server, sign_in_path
from tests.bot.test_reports import NOW, desk, seed  # noqa: F401
from tests.clocks import FakeClock

CHROMIUM = Path("/usr/bin/chromium")


def _browser_or_skip() -> Any:
    """playwright's async API, or a skip (a failure under REQUIRE_BROWSER=1) saying what is missing."""
    missing = None
    try:
        from playwright import async_api
    except ImportError:
        missing = "the python package playwright is not installed (pip install -e '.[test]')"
    if missing is None and not (CHROMIUM.exists() or shutil.which("chromium")):
        missing = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if missing is not None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    return async_api


@pytest.fixture
async def base(desk: Desk, clock: FakeClock) -> AsyncIterator[str]:  # noqa: F811
    await seed(desk, clock)
    async with dashboard_server(desk) as url:
        yield url


async def _text(page: Any, selector: str) -> str:
    return " ".join((await page.locator(selector).inner_text()).split())


async def _charts_loaded(page: Any) -> list[dict[str, Any]]:
    await page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    found: list[dict[str, Any]] = await page.evaluate(
        "Array.from(document.images).map(i => ({src: i.getAttribute('src'), width: i.naturalWidth, alt: i.alt}))")
    return found


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the figures on PostgreSQL: test_dashboard.py
async def test_a_lead_signs_in_from_the_link_and_reads_the_dashboard_in_chromium(
    desk: Desk, base: str, tmp_path: Path  # noqa: F811
) -> None:
    api = _browser_or_skip()
    async with api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                   args=["--no-sandbox", "--disable-gpu"])
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
            page = await context.new_page()
            complaints: list[str] = []
            page.on("console", lambda message: complaints.append(message.text)
                    if "Content Security Policy" in message.text else None)

            first = await page.goto(base + await sign_in_path(desk, BEA))
            assert first is not None and first.status == 200 and page.url == base + "/dashboard"
            await page.goto(base + "/dashboard?days=7")
            assert await page.title() == "Support dashboard · last 7 days"
            assert await _text(page, "#card-open .value") == "2"
            assert await _text(page, "#card-first-response .value") == "25 min"
            assert "p50 20 min · p90 40 min" in await _text(page, "#card-first-response")
            assert await _text(page, "#card-resolution .value") == "1.4 h"
            assert await _text(page, "#card-csat .value") == "100%"
            assert "Missed" in await _text(page, "#card-sla") and await _text(page, "#card-sla .value") == "75%"
            assert await _text(page, "#card-deflection .value") == "20%"
            assert await _text(page, "#card-escalation .value") == "40%"
            assert await _text(page, "#card-per-agent .value") == "0.29 tickets"
            assert "Bea Billing 3 2 32.5 min 66.7% 100%" in await _text(page, "#agents")
            assert "Category billing" in await _text(page, "#trends")
            assert "2026-11-16 3 1 2 15 min 1.4 h 0 66.7%" in await _text(page, "#daily")
            border = await page.eval_on_selector("#card-sla", "e => getComputedStyle(e).borderLeftWidth")
            assert border == "5px"  # the package's style sheet applied
            images = await _charts_loaded(page)
            assert sorted(i["src"].split("?")[0] for i in images) == [
                "/dashboard/charts/backlog.svg", "/dashboard/charts/categories.svg", "/dashboard/charts/volume.svg"]
            assert all(i["width"] > 0 and i["alt"] for i in images), images
            await page.screenshot(path=str(tmp_path / "dashboard-7-days.png"), full_page=True)
            if os.environ.get("DASHBOARD_SCREENSHOT"):
                await page.screenshot(path=os.environ["DASHBOARD_SCREENSHOT"], full_page=True)

            await page.select_option("#days", "30")
            await page.click("button:text('Show')")
            await page.wait_for_url("**/dashboard?days=30&team=")
            assert await _text(page, "#card-first-response .value") == "33.8 min"  # 60, 45, 20, 10
            await page.select_option("#team", "technical_team")
            await page.click("button:text('Show')")
            await page.wait_for_url("**/dashboard?days=30&team=technical_team")
            assert await _text(page, "#card-first-response .value") == "10 min"
            assert await _text(page, "#categories") == "Tickets per category Category Tickets bug 1"
            assert all(i["width"] > 0 for i in await _charts_loaded(page))
            await page.screenshot(path=str(tmp_path / "dashboard-30-days-technical.png"), full_page=True)

            await page.click("button:text('Sign out')")
            assert await _text(page, "h1") == "Signed out"
            again = await page.goto(base + "/dashboard")
            assert again is not None and again.status == 403
            assert complaints == []

            stranger = await (await browser.new_context()).new_page()
            nobody = await stranger.goto(base + "/dashboard?days=7")
            assert nobody is not None and nobody.status == 403
            assert "billing" not in await stranger.content()
            token = sign(await desk.secret(), Purpose.DASHBOARD, "dashboard", STRANGER, NOW + LINK_LIFETIME)
            refused = await stranger.goto(f"{base}/dashboard/login/{token}")
            assert refused is not None and refused.status == 403
            assert await _text(stranger, "h1") == "You cannot see this page"
            await stranger.screenshot(path=str(tmp_path / "dashboard-403.png"))
        finally:
            await browser.close()
    assert (tmp_path / "dashboard-7-days.png").stat().st_size > 10_000
