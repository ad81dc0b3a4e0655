"""The dashboard page over HTTP (the desk's real web app, a real client): who gets in (a one-use signed link from
Slack, then a session cookie), who does not (no cookie, forged, expired, reused or a stranger's link, a person
taken out of support.yml, after sign-out), its headers, and every figure against the hand-computed history of
tests/bot/test_reports.py (its seed: business hours, pauses, a reopen, a merge, an import, a deflection)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest

from bot.config import build_config
from bot.dashboard_access import COOKIE, LINK_LIFETIME, SESSION_LIFETIME
from bot.desk import Desk
from bot.links import Purpose, sign
from tests.bot.dashboard_helpers import BEA, LEAD, MANAGER, STRANGER, dashboard_server, sign_in_path
from tests.bot.test_reports import NOW, desk, seed  # noqa: F401
from tests.bot.test_sla_ticker import support_data, with_team
from tests.clocks import FakeClock

STRICT_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
              "base-uri 'none'")


@pytest.fixture
async def seeded(desk: Desk, clock: FakeClock) -> dict[str, str]:  # noqa: F811
    return await seed(desk, clock)


@pytest.fixture
async def base(desk: Desk) -> AsyncIterator[str]:  # noqa: F811
    async with dashboard_server(desk) as url:
        yield url


async def get(base: str, path: str, cookie: str | None = None, **headers: str
              ) -> tuple[int, str, aiohttp.ClientResponse]:
    sent = {**headers, **({"Cookie": f"{COOKIE}={cookie}"} if cookie else {})}
    async with aiohttp.ClientSession() as client, client.get(base + path, headers=sent,
                                                              allow_redirects=False) as response:
        return response.status, await response.text(errors="replace"), response


async def sign_in(desk: Desk, base: str, user: str = BEA) -> str:  # noqa: F811
    """The session cookie's value a fresh link of `user` starts (after its 303 to the page)."""
    status, _text, response = await get(base, await sign_in_path(desk, user))
    assert status == 303 and response.headers["Location"] == "/dashboard"
    return response.cookies[COOKIE].value


def cards(page: str) -> dict[str, str]:
    """Each summary card's text, tags dropped, by its id."""
    found = re.findall(r'<article class="card [a-z]+" id="card-([a-z-]+)".*?</article>', page)
    bodies = re.findall(r'<article class="card [a-z]+" id="card-[a-z-]+".*?>(.*?)</article>', page)
    return {key: " ".join(re.sub(r"<[^>]+>", " ", body).split()) for key, body in zip(found, bodies, strict=True)}


def row(page: str, table: str, first_cell: str) -> list[str]:
    """The cells of the row of `table` whose row header is `first_cell`."""
    section = page.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
    for found in re.findall(r"<tr>(.*?)</tr>", section):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", found)]
        if cells and cells[0] == first_cell:
            return cells[1:]
    raise AssertionError(f"no row {first_cell!r} in {table}")


async def test_without_a_session_every_dashboard_url_is_403_and_shows_no_data(
    desk: Desk, seeded: dict[str, str], base: str  # noqa: F811
) -> None:
    for path in ("/dashboard", "/dashboard?days=7", "/dashboard/charts/volume.svg?days=7&team=",
                 "/dashboard/charts/categories.svg"):
        for cookie in (None, "not-a-session", "x" * 500):
            status, text, response = await get(base, path, cookie)
            assert status == 403, path
            assert response.headers["Content-Security-Policy"] == STRICT_CSP
            assert not any(ticket in text for ticket in seeded.values()) and "billing" not in text
            assert "Open dashboard" in text


async def test_a_link_signs_in_once_and_the_page_shows_the_hand_computed_figures(
    desk: Desk, seeded: dict[str, str], base: str  # noqa: F811
) -> None:
    path = await sign_in_path(desk, BEA)
    status, _text, response = await get(base, path)
    assert status == 303
    cookie_header = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie_header and "SameSite=Lax" in cookie_header and "Path=/dashboard" in cookie_header
    assert "Secure" not in cookie_header  # the public URL is http here
    assert f"Max-Age={int(SESSION_LIFETIME.total_seconds())}" in cookie_header
    session = response.cookies[COOKIE].value
    assert (await get(base, path))[0] == 403  # the same link again: used

    status, page, response = await get(base, "/dashboard?days=7", session)
    assert status == 200 and response.headers["Content-Security-Policy"] == STRICT_CSP
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Frame-Options"] == "DENY"
    assert "<script" not in page and "style=" not in page
    found = cards(page)
    assert found["open"].startswith("Open tickets 2 +2 since 7 days ago Critical 2 (was 0) High 0 (was 0)")
    assert found["first-response"] == ("Avg first response 25 min Target ≤ 30 min · Met −35 min vs previous 7 days "
                                       "(60 min) p50 20 min · p90 40 min · 3 answered")
    assert found["resolution"].startswith("Avg resolution 1.4 h Target ≤ 8 h · Met −0.6 h vs previous 7 days (2 h) "
                                          "p50 1.5 h")  # (1.5 + 140/60 + 0.5) / 3 = 1.44 against G's 2
    assert found["csat"] == "Customer satisfaction 100% Target ≥ 90% · Met No figure for the previous 7 days"
    assert found["sla"] == "SLA compliance 75% Target ≥ 95% · Missed −25% vs previous 7 days (100%)"
    assert found["deflection"] == "Self-service deflection 20% Target ≥ 30% · Missed +20% vs previous 7 days (0%)"
    assert found["escalation"].startswith("Escalation rate 40% Target ≤ 10% · Missed")
    assert found["per-agent"].startswith("Resolved per agent per day 0.29 tickets Target ≥ 20 · Missed")
    assert "billing_team 09:00-17:00 Europe/London, mon–fri" in page  # the business-hours note
    assert row(page, "agents", "Bea Billing") == ["3", "2", "32.5 min", "66.7%", "100%"]
    assert row(page, "agents", "Tom Tech") == ["1", "0", "10 min", "–", "–"]
    assert row(page, "categories", "billing") == ["3"] and row(page, "categories", "bug") == ["1"]
    assert row(page, "backlog", "4-24 h") == ["2"] and row(page, "backlog", "&lt; 4 h") == ["0"]
    assert row(page, "daily", "2026-11-16") == ["3", "1", "2", "15 min", "1.4 h", "0", "66.7%"]
    assert row(page, "daily", "2026-11-13") == ["1", "0", "1", "45 min", "1.5 h", "0", "100%"]
    trend = page.split('<ul class="trends" id="trends">', 1)[1].split("</ul>", 1)[0]
    assert "Category billing" in trend and all(seeded[k] in trend for k in "ABE")
    assert "Signed in as Bea Billing" in page
    for name in ("volume", "categories", "backlog"):
        assert f'src="/dashboard/charts/{name}.svg?days=7&amp;team="' in page


async def test_the_team_filter_and_the_period_change_the_figures(
    desk: Desk, seeded: dict[str, str], base: str  # noqa: F811
) -> None:
    session = await sign_in(desk, base)
    page = (await get(base, "/dashboard?days=7&team=technical_team", session))[1]
    assert cards(page)["first-response"].startswith("Avg first response 10 min")
    assert row(page, "categories", "bug") == ["1"] and "<th scope=\"row\">billing</th>" not in page
    assert '<option value="technical_team" selected>' in page
    page = (await get(base, "/dashboard?days=30", session))[1]
    # 30 days reach back to G (11-03): first responses 60, 45, 20, 10
    assert cards(page)["first-response"].startswith("Avg first response 33.8 min")
    assert '<option value="30" selected>' in page
    for wrong in ("/dashboard?days=8", "/dashboard?team=nobody", "/dashboard?team=%3Cscript%3E"):
        status, text, _response = await get(base, wrong, session)
        assert status == 400 and "<script>" not in text


async def test_charts_are_svg_images_for_a_session_only_and_cached_privately(
    desk: Desk, seeded: dict[str, str], base: str  # noqa: F811
) -> None:
    session = await sign_in(desk, base)
    await get(base, "/dashboard?days=7", session)
    for name in ("volume", "categories", "backlog"):
        status, svg, response = await get(base, f"/dashboard/charts/{name}.svg?days=7&team=", session)
        assert status == 200 and response.content_type == "image/svg+xml" and svg.lstrip().startswith("<?xml")
        assert response.headers["Cache-Control"].startswith("private")
        assert "script" not in response.headers["Content-Security-Policy"]
    categories = (await get(base, "/dashboard/charts/categories.svg?days=7&team=", session))[1]
    assert "billing" in categories and "feature help" in categories
    assert (await get(base, "/dashboard/charts/nothing.svg", session))[0] == 400
    status, css, response = await get(base, "/dashboard/static/dashboard.css")
    assert status == 200 and response.content_type == "text/css" and ".card" in css


async def test_forged_expired_and_strangers_links_get_403_and_start_nothing(
    desk: Desk, clock: FakeClock, seeded: dict[str, str], base: str  # noqa: F811
) -> None:
    path = await sign_in_path(desk, BEA)
    token = path.rsplit("/", 1)[1]
    body, mac = token.split(".")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    for forged in (f"{flipped}.{mac}", f"{body}.{mac[:-2]}", "nonsense", sign(b"another desk", Purpose.DASHBOARD,
                                                                              "dashboard", BEA, NOW + LINK_LIFETIME)):
        status, _text, response = await get(base, f"/dashboard/login/{forged}")
        assert status == 403 and COOKIE not in response.cookies
    secret = await desk.secret()
    rating_link = sign(secret, Purpose.RATING, "dashboard", BEA, NOW + LINK_LIFETIME)  # right key, wrong purpose
    strangers = sign(secret, Purpose.DASHBOARD, "dashboard", STRANGER, NOW + LINK_LIFETIME)
    for token in (rating_link, strangers):
        assert (await get(base, f"/dashboard/login/{token}"))[0] == 403
    clock.current = NOW + LINK_LIFETIME + timedelta(seconds=1)
    assert (await get(base, path))[0] == 403  # expired, never used
    clock.current = NOW


async def test_a_session_ends_at_its_expiry_at_sign_out_and_when_the_person_leaves_support_yml(
    desk: Desk, clock: FakeClock, seeded: dict[str, str], base: str  # noqa: F811
) -> None:
    session = await sign_in(desk, base)
    assert (await get(base, "/dashboard", session))[0] == 200
    clock.current = NOW + SESSION_LIFETIME + timedelta(seconds=1)
    assert (await get(base, "/dashboard", session))[0] == 403
    clock.current = NOW

    lead, manager = await sign_in(desk, base, LEAD), await sign_in(desk, base, MANAGER)  # not agents, but people
    assert (await get(base, "/dashboard", lead))[0] == 200 and (await get(base, "/dashboard", manager))[0] == 200
    bea = await sign_in(desk, base, BEA)
    data = with_team(support_data(), "billing_team", hours="09:00-17:00", timezone="Europe/London")
    data["agents"] = [a for a in data["agents"] if a["slack_id"] != BEA]
    desk.config = replace(build_config(data), source=desk.config.source)  # as `serve` restarted with the new file
    status, text, _response = await get(base, "/dashboard", bea)
    assert status == 403 and "Bea" not in text
    assert (await get(base, await sign_in_path(desk, BEA)))[0] == 403  # and no new link works for her

    async def logout(cookie: str, **headers: str) -> int:
        async with aiohttp.ClientSession() as client, client.post(
                base + "/dashboard/logout", headers={"Cookie": f"{COOKIE}={cookie}", **headers},
                allow_redirects=False) as response:
            return response.status

    assert await logout(manager) == 403  # no Origin, no Sec-Fetch-Site: not known to be our page
    assert await logout(manager, Origin="https://evil.example") == 403
    assert await logout(manager, Origin=base, **{"Sec-Fetch-Site": "cross-site"}) == 403
    assert await logout(manager, Origin="null") == 403
    assert (await get(base, "/dashboard", manager))[0] == 200
    assert await logout(manager, Origin=base) == 200
    assert (await get(base, "/dashboard", manager))[0] == 403
    assert (await get(base, "/dashboard", lead))[0] == 200  # another session is untouched
