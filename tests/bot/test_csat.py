"""CSAT end to end: a ticket arrives by real SMTP, is resolved with the rating mail in the same transaction, and
the customer clicks its links over HTTP on the desk's server (aiohttp client, free port). Slack is the local
stand-in; thread messages are checked in the outbox and, once, in the stand-in's thread. SQLite and PostgreSQL.

The signed tokens themselves are checked first, without a database."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import change_ticket
from bot.csat import enqueue_rating_mail
from bot.links import TOKEN_LIFETIME, Purpose, sign, verify
from bot.serve import Running, start
from bot.settings import Settings
from bot.slack.http import HttpServer, build_web_app
from bot.web import add_customer_routes, build_customer_web_app
from db import metrics
from db import outbox as outbox_store
from tests.bot.slack_helpers import SIGNING_SECRET
from tests.bot.test_email_flow import eventually, mails_to
from tests.bot.test_slack_flow import TECH, a_ticket, card_of, thread_texts, ticket
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401
from tests.smtp_sink import SmtpSink
from ticketing import lifecycle
from ticketing.model import Satisfaction, Status, Ticket

PUBLIC = "https://support.example.test"
LEAD = "UTECHLEAD1"  # technical_team's lead in the test support.yml
AGENT = "UTECHAGNT1"
SECRET = bytes(range(32))
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SINCE = datetime(2000, 1, 1, tzinfo=UTC)
TOKEN_CHARS = "A-Za-z0-9_.-"


# -- the tokens --------------------------------------------------------------------------------------------


def changed_at(token: str, index: int) -> str:
    """`token` with the one character at `index` replaced by another URL-safe base64 character."""
    old = token[index]
    new = "B" if old == "A" else "A"
    if old == ".":
        new = "A"
    return token[:index] + new + token[index + 1:]


def test_a_token_says_its_purpose_ticket_and_value_until_it_expires() -> None:
    token = sign(SECRET, Purpose.RATING, "FB-ABC123", "4", NOW + TOKEN_LIFETIME)
    claim = verify(SECRET, token, Purpose.RATING, NOW)
    assert claim is not None and (claim.ticket_id, claim.value) == ("FB-ABC123", "4")
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}", token)  # URL-safe base64, HMAC-SHA256
    assert verify(SECRET, token, Purpose.RATING, NOW + TOKEN_LIFETIME - timedelta(seconds=1)) is not None
    assert verify(SECRET, token, Purpose.RATING, NOW + TOKEN_LIFETIME) is None
    assert timedelta(days=30) == TOKEN_LIFETIME


def test_two_tokens_for_the_same_ticket_and_score_differ_so_neither_can_be_guessed_from_the_other() -> None:
    first, second = (sign(SECRET, Purpose.RATING, "FB-ABC123", "4", NOW + TOKEN_LIFETIME) for _ in range(2))
    assert first != second
    assert verify(SECRET, first, Purpose.RATING, NOW) and verify(SECRET, second, Purpose.RATING, NOW)


def test_changing_any_single_character_of_a_token_makes_it_invalid() -> None:
    token = sign(SECRET, Purpose.RATING, "FB-ABC123", "5", NOW + TOKEN_LIFETIME)
    for index in range(len(token)):  # the last base64 characters too, whose low bits decode to the same bytes
        assert verify(SECRET, changed_at(token, index), Purpose.RATING, NOW) is None, index


def test_a_token_for_another_purpose_or_signed_with_another_secret_is_invalid() -> None:
    token = sign(SECRET, Purpose.RATING, "FB-ABC123", "5", NOW + TOKEN_LIFETIME)
    assert verify(SECRET, token, Purpose.COMMENT, NOW) is None
    assert verify(SECRET, token, Purpose.DEFLECT, NOW) is None
    assert verify(bytes(32), token, Purpose.RATING, NOW) is None
    for junk in ("", ".", "abc", "a.b.c", "é.é", "x" * 600 + ".y", token + "="):
        assert verify(SECRET, junk, Purpose.RATING, NOW) is None


# -- the desk over HTTP -------------------------------------------------------------------------------------


@dataclass
class Site:
    """The customer pages on a free port; links in mail name PUBLIC, which the test maps to this server."""

    port: int

    def local(self, link: str) -> str:
        return link.replace(PUBLIC, f"http://127.0.0.1:{self.port}") if link.startswith(PUBLIC) else \
            f"http://127.0.0.1:{self.port}{link}"

    async def request(self, method: str, link: str, **kwargs: Any) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.request(method, self.local(link), **kwargs) as got:
            return got.status, await got.text()

    async def get(self, link: str) -> tuple[int, str]:
        return await self.request("GET", link)

    async def post(self, link: str, data: dict[str, str]) -> tuple[int, str]:
        return await self.request("POST", link, data=data)

    async def click(self, link: str) -> tuple[int, str]:
        """What a customer does: open the link (a page that changes nothing), then press its button."""
        status, page = await self.get(link)
        assert status == 200 and '<form method="post"><button type="submit">' in page, page
        return await self.post(link, {})


@pytest.fixture(name="sink")
def sink_fixture() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture(name="desk_running")
async def desk_running_fixture(database_url: str, support_yml: Path, sink: SmtpSink, slack_api: SlackApi
                       ) -> AsyncIterator[Running]:
    settings = Settings(_env_file=None, database_url=database_url, support_config=support_yml, smtp_listen_port=0,
                        smtp_host="127.0.0.1", smtp_port=sink.port, smtp_starttls=False,
                        slack_bot_token=slack_api.token, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack_api.url, http_port=0, slack_channel_interval=0, public_url=PUBLIC)
    running = await start(settings, say=lambda _line: None)
    yield running
    await running.stop()
    slack_api.assert_no_invalid()


@pytest.fixture(name="site")
async def site_fixture(desk_running: Running) -> AsyncIterator[Site]:
    server = HttpServer(build_customer_web_app(desk_running.desk), "127.0.0.1", 0)
    await server.start()
    yield Site(server.port)
    await server.stop()


async def resolve(running: Running, ticket_id: str) -> Ticket:
    """What the resolve paths do once wired: resolve, and the rating mail in the same transaction."""
    desk = running.desk

    async def change(session: AsyncSession, found: Ticket) -> Ticket:
        changed = lifecycle.resolve(found, desk.clock.now())
        await enqueue_rating_mail(desk, session, changed)
        return changed

    return await change_ticket(desk, ticket_id, change)


async def outbox(running: Running, ticket_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    async with running.desk.db.sessions() as session:
        return await outbox_store.items_for(session, ticket_id)


async def thread_lines(running: Running, ticket_id: str) -> list[str]:
    return [p["text"] for kind, _, p in await outbox(running, ticket_id) if kind == "slack" and p["op"] == "thread"]


async def rating_links(running: Running, ticket_id: str) -> list[str]:
    mails = [p["body"] for kind, _, p in await outbox(running, ticket_id) if kind == "email" and "/csat/" in p["body"]]
    assert len(mails) == 1
    return re.findall(rf"{re.escape(PUBLIC)}/csat/[{TOKEN_CHARS}]+", mails[0])


async def resolved_ticket(running: Running, sink: SmtpSink) -> tuple[Ticket, list[str]]:
    found = await a_ticket(running, sink)
    await resolve(running, found.id)
    return found, await rating_links(running, found.id)


async def snapshot(running: Running, ticket_id: str) -> tuple[Any, ...]:
    now = await ticket(running, ticket_id)
    return (now.satisfaction, now.status, now.assignee, now.timeline, now.metadata.extra,
            len(await outbox(running, ticket_id)))


async def ratings_counted(running: Running) -> tuple[int, int]:
    async with running.desk.db.sessions() as session:
        rows = await metrics.metrics_between(session, SINCE, datetime.now(UTC) + timedelta(days=1))
    return sum(r.satisfaction_responses for r in rows), sum(r.satisfaction_sum for r in rows)


def comment_link(page: str) -> str:
    found = re.search(rf'href="([^"]*/csat/comment/[{TOKEN_CHARS}]+)"', page)
    assert found, page
    return html.unescape(found.group(1))


async def test_resolving_a_ticket_queues_a_rating_mail_with_five_distinct_signed_links(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await resolved_ticket(desk_running, sink)
    assert len(links) == 5 and len(set(links)) == 5
    (_kind, _status, payload), = [i for i in await outbox(desk_running, found.id) if "/csat/" in i[2].get("body", "")]
    assert payload["auto"] is True and payload["to"] == "anna@example.com"
    for score, link in enumerate(links, start=1):
        assert f"{score}" in payload["body"].split(link)[0].splitlines()[-1]  # each line names its score
    delivered = await eventually(lambda: _rating_mail_delivered(sink))
    assert found.id in delivered and "30 days" in delivered


async def _rating_mail_delivered(sink: SmtpSink) -> str | None:
    bodies = [m.get_content() for m in mails_to(sink, "anna@example.com") if "/csat/" in m.get_content()]
    return bodies[0] if bodies else None


async def test_clicking_4_stores_4_and_posts_it_to_the_slack_thread(
    desk_running: Running, sink: SmtpSink, site: Site, slack_api: SlackApi
) -> None:
    found, links = await resolved_ticket(desk_running, sink)
    status, page = await site.click(links[3])
    assert status == 200 and "Thank you for your rating" in page and "4 out of 5" in page
    after = await ticket(desk_running, found.id)
    assert after.satisfaction == Satisfaction(4, None)
    assert after.status is Status.RESOLVED and after.assignee == AGENT
    assert "⭐ The customer rated this 4/5" in await thread_lines(desk_running, found.id)
    await thread_texts(slack_api, await card_of(slack_api), "rated this 4/5", TECH)
    assert await ratings_counted(desk_running) == (1, 4)


async def test_clicking_1_reopens_the_ticket_and_assigns_it_to_the_team_lead(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await resolved_ticket(desk_running, sink)
    status, page = await site.click(links[0])
    assert status == 200 and "team lead will look at your ticket again" in page
    after = await ticket(desk_running, found.id)
    assert after.satisfaction.rating == 1
    assert after.status is Status.IN_PROGRESS and after.timeline.resolved is None
    assert after.assignee == LEAD
    lines = await thread_lines(desk_running, found.id)
    assert "⭐ The customer rated this 1/5" in lines
    assert any(f"Reopened and assigned to <@{LEAD}>" in line for line in lines)


async def test_opening_a_rating_link_records_nothing_until_the_button_is_pressed(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    """Mail security scanners fetch every link in a message; only the customer's button press counts."""
    found, links = await resolved_ticket(desk_running, sink)
    before = await snapshot(desk_running, found.id)
    for link in links:
        status, page = await site.get(link)
        assert status == 200 and "Nothing is recorded until you press the button" in page
    assert await snapshot(desk_running, found.id) == before
    assert await ratings_counted(desk_running) == (0, 0)
    assert (await site.click(links[1]))[0] == 200
    assert (await ticket(desk_running, found.id)).satisfaction.rating == 2


async def test_a_low_rating_on_a_closed_ticket_is_kept_but_the_ticket_stays_closed(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await resolved_ticket(desk_running, sink)

    async def close(_session: AsyncSession, current: Ticket) -> Ticket:
        return lifecycle.close(current, desk_running.desk.clock.now())

    await change_ticket(desk_running.desk, found.id, close)
    assert (await site.click(links[1]))[0] == 200
    after = await ticket(desk_running, found.id)
    assert after.satisfaction.rating == 2 and after.status is Status.CLOSED and after.assignee == AGENT
    assert any("closed, so it was not reopened" in line and f"<@{LEAD}>" in line
               for line in await thread_lines(desk_running, found.id))


async def test_a_forged_a_tampered_an_expired_or_a_wrong_purpose_rating_link_changes_nothing(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await resolved_ticket(desk_running, sink)
    before = await snapshot(desk_running, found.id)
    token = links[4].rsplit("/", 1)[1]
    secret = await desk_running.desk.secret()
    now, later = desk_running.desk.clock.now(), desk_running.desk.clock.now() + TOKEN_LIFETIME
    bad = [
        f"{secrets.token_urlsafe(60)}.{secrets.token_urlsafe(32)}",  # forged: random
        changed_at(token, 5), changed_at(token, token.index(".") - 1),  # tampered: one character of the claim
        changed_at(token, token.index(".") + 1), changed_at(token, len(token) - 1),  # ... or of the signature
        sign(secret, Purpose.RATING, found.id, "5", now - timedelta(seconds=1)),  # expired
        sign(secret, Purpose.RATING, found.id, "5", now - TOKEN_LIFETIME),  # issued 60 days ago
        sign(secret, Purpose.DEFLECT, found.id, "5", later),  # signed, but for another purpose
        sign(secret, Purpose.COMMENT, found.id, "5", later),
        sign(secret, Purpose.RATING, found.id, "9", later),  # signed, but not a score
        sign(secrets.token_bytes(32), Purpose.RATING, found.id, "5", later),  # another desk's secret
        "not-a-token",
    ]
    for token_given in bad:
        for status, page in (await site.get(f"/csat/{token_given}"), await site.post(f"/csat/{token_given}", {})):
            assert status == 404 and "This link is not valid" in page and "Nothing was changed" in page, token_given
    assert (await site.request("HEAD", links[4]))[0] == 405  # a link checker's HEAD records nothing
    assert await snapshot(desk_running, found.id) == before
    assert await ratings_counted(desk_running) == (0, 0)


async def test_a_reused_rating_link_or_a_second_score_changes_nothing(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await resolved_ticket(desk_running, sink)
    assert (await site.click(links[3]))[0] == 200
    before = await snapshot(desk_running, found.id)
    for link in (links[3], links[0], links[4]):  # the same link again, then a low and a high score
        for status, page in (await site.get(link), await site.post(link, {})):
            assert status == 200 and "You already rated this, thank you" in page and "4 out of 5" in page
    assert await snapshot(desk_running, found.id) == before
    assert (await ticket(desk_running, found.id)).status is Status.RESOLVED
    assert await ratings_counted(desk_running) == (1, 4)


async def test_the_comment_page_stores_the_feedback_once_and_escapes_it(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await resolved_ticket(desk_running, sink)
    _, thanks = await site.click(links[2])
    comment = comment_link(thanks)
    status, form = await site.get(comment)
    assert status == 200 and '<textarea id="feedback" name="feedback" maxlength="2000"' in form
    assert '<label for="feedback">' in form and "3 out of 5" in form and "<script" not in form

    evil = "<script>alert('x')</script> & thanks"
    status, page = await site.post(comment, {"feedback": evil})
    assert status == 200 and "Thank you for your comment" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; thanks" in page
    assert (await ticket(desk_running, found.id)).satisfaction == Satisfaction(3, evil)
    lines = await thread_lines(desk_running, found.id)
    assert any("&lt;script&gt;" in line and "<script>" not in line for line in lines)

    before = await snapshot(desk_running, found.id)
    status, page = await site.post(comment, {"feedback": "second thoughts"})
    assert status == 200 and "We already have your comment" in page and "second thoughts" not in page
    status, shown = await site.get(comment)
    assert status == 200 and "&lt;script&gt;" in shown and "<script>alert" not in shown and "<textarea" not in shown
    assert await snapshot(desk_running, found.id) == before
    assert "Content-Security-Policy" in await _headers(site, comment)


async def _headers(site: Site, link: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(site.local(link)) as got:
        return " ".join(got.headers)


async def test_an_empty_or_too_long_comment_is_refused_and_a_rating_link_is_no_comment_link(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await resolved_ticket(desk_running, sink)
    comment = comment_link((await site.click(links[4]))[1])
    status, page = await site.post(comment, {"feedback": "x" * 2001})
    assert status == 400 and "please keep it to 2,000" in page and 'role="alert"' in page
    assert (await site.post(comment, {"feedback": "   "}))[0] == 400
    assert (await site.get(f"/csat/comment/{links[4].rsplit('/', 1)[1]}"))[0] == 404
    assert (await site.post(f"/csat/comment/{links[4].rsplit('/', 1)[1]}", {"feedback": "hi"}))[0] == 404
    assert (await ticket(desk_running, found.id)).satisfaction == Satisfaction(5, None)
    assert (await site.post(comment, {"feedback": "x" * 2000}))[0] == 200


async def test_the_customer_routes_join_the_slack_server_without_disturbing_it(
    desk_running: Running, sink: SmtpSink
) -> None:
    assert desk_running.slack is not None
    web_app: web.Application = build_web_app(desk_running.slack.app)
    add_customer_routes(web_app, desk_running.desk)
    server = HttpServer(web_app, "127.0.0.1", 0)
    await server.start()
    try:
        shared = Site(server.port)
        found, links = await resolved_ticket(desk_running, sink)
        assert (await shared.click(links[4]))[0] == 200
        assert (await ticket(desk_running, found.id)).satisfaction.rating == 5
        assert (await shared.get("/health"))[0] == 200
        assert (await shared.post("/slack/events", {"x": "unsigned"}))[0] == 401
    finally:
        await server.stop()
