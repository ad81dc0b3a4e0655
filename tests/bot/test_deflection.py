"""Self-service deflection end to end: "My form won't save" arrives by real SMTP, its pattern suggests
form_save_troubleshooting (self-service in the built-in canned responses), the answer goes out at once through
the real mailer, and the customer's "yes" or "no" comes back over HTTP. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import Message

from bot import actions
from bot.deflection import deflection_rate, enqueue_self_service
from bot.links import TOKEN_LIFETIME, Purpose, sign
from bot.serve import Running
from db import metrics
from tests.bot.test_csat import (  # noqa: F401
    PUBLIC,
    SINCE,
    TOKEN_CHARS,
    Site,
    changed_at,
    desk_running_fixture,
    outbox,
    sink_fixture,
    site_fixture,
    snapshot,
    thread_lines,
)
from tests.bot.test_email_flow import eventually, mails_to
from tests.bot.test_slack_flow import a_ticket, ticket
from tests.fakes.slack_api import slack_api_fixture  # noqa: F401
from tests.smtp_sink import SmtpSink
from ticketing.model import Status, Ticket

AGENT = "UTECHAGNT1"


async def offer_self_service(running: Running, found: Ticket) -> int | None:
    """What ticket creation does once wired: the self-service answer in the outbox (a second call sends none)."""
    async with running.desk.db.transaction() as session:
        item = await enqueue_self_service(running.desk, session, found)
    running.desk.outbox_written()
    return item


async def self_service_ticket(running: Running, sink: SmtpSink) -> tuple[Ticket, dict[str, str]]:
    found = await a_ticket(running, sink)
    await offer_self_service(running, found)
    bodies = [p["body"] for kind, _, p in await outbox(running, found.id)
              if kind == "email" and "Did this solve it?" in p["body"]]
    assert len(bodies) == 1
    links = dict(re.findall(rf"^(Yes|No): ({re.escape(PUBLIC)}/deflect/[{TOKEN_CHARS}]+)$", bodies[0], re.M))
    return found, {"yes": links["Yes"], "no": links["No"]}


async def _answer_delivered(sink: SmtpSink) -> Message | None:
    found = [m for m in mails_to(sink, "anna@example.com") if "Did this solve it?" in m.get_content()]
    return found[0] if found else None


async def resolved_count(running: Running) -> int:
    async with running.desk.db.sessions() as session:
        rows = await metrics.metrics_between(session, SINCE, datetime.now(UTC) + timedelta(days=1))
    return sum(r.tickets_resolved for r in rows)



async def test_a_self_service_ticket_gets_the_answer_mail_at_once_with_yes_and_no_links(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await self_service_ticket(desk_running, sink)
    assert found.classification.template == "form_save_troubleshooting"
    mail = await eventually(lambda: _answer_delivered(sink))
    text = mail.get_content()
    assert "Check every required field" in text and "Hi Anna Bride" in text and "{" not in text
    assert mail["Auto-Submitted"] == "auto-replied" and found.id in mail["Subject"]
    assert links["yes"] != links["no"]
    stored = (await ticket(desk_running, found.id)).metadata.extra["deflection"]
    assert stored["template"] == "form_save_troubleshooting" and stored["sent_at"]
    assert (await ticket(desk_running, found.id)).status is Status.OPEN
    assert await deflection_rate(desk_running.desk, SINCE) == (0, 1)


async def test_the_self_service_answer_goes_out_once_however_often_it_is_asked_for(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, _ = await self_service_ticket(desk_running, sink)
    assert await offer_self_service(desk_running, found) is None
    answers = [p for kind, _, p in await outbox(desk_running, found.id)
               if kind == "email" and "Did this solve it?" in p["body"]]
    assert len(answers) == 1


async def test_a_ticket_whose_template_is_not_self_service_gets_no_answer_mail(
    desk_running: Running, sink: SmtpSink
) -> None:
    found = await a_ticket(desk_running, sink, subject="Payment failed", body="My card payment failed twice")
    assert found.classification.template == "payment_troubleshooting"
    assert await offer_self_service(desk_running, found) is None
    assert "deflection" not in (await ticket(desk_running, found.id)).metadata.extra
    assert not [p for kind, _, p in await outbox(desk_running, found.id)
                if kind == "email" and "Did this solve it?" in p["body"]]


async def test_yes_resolves_the_ticket_without_an_agent_and_counts_as_deflected(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await self_service_ticket(desk_running, sink)
    status, page = await site.click(links["yes"])
    assert status == 200 and "Glad that solved it" in page
    after = await ticket(desk_running, found.id)
    assert after.status is Status.RESOLVED and after.timeline.resolved is not None
    assert after.assignee == AGENT and after.timeline.first_response is None  # no agent answered
    assert after.metadata.extra["deflected"] is True
    assert after.metadata.extra["deflection"]["answer"] == "yes"
    assert "Resolved by the customer's self-service answer" in await thread_lines(desk_running, found.id)
    assert await deflection_rate(desk_running.desk, SINCE) == (1, 1)
    assert await resolved_count(desk_running) == 1
    assert not [p for kind, _, p in await outbox(desk_running, found.id)
                if kind == "email" and "/csat/" in p["body"]]  # no rating mail for a self-served ticket


async def test_opening_an_answer_link_changes_nothing_until_the_button_is_pressed(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await self_service_ticket(desk_running, sink)
    before = await snapshot(desk_running, found.id)
    for link in links.values():  # a mail scanner opening both links
        assert (await site.get(link))[0] == 200
    assert await snapshot(desk_running, found.id) == before
    assert await deflection_rate(desk_running.desk, SINCE) == (0, 1)


async def test_no_tells_the_thread_and_changes_nothing_else(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await self_service_ticket(desk_running, sink)
    before = await ticket(desk_running, found.id)
    status, page = await site.click(links["no"])
    assert status == 200 and "Sorry that did not solve it" in page
    after = await ticket(desk_running, found.id)
    assert (after.status, after.assignee, after.timeline) == (before.status, before.assignee, before.timeline)
    assert "deflected" not in after.metadata.extra
    assert any("the self-service answer did not help" in line for line in await thread_lines(desk_running, found.id))
    assert await deflection_rate(desk_running.desk, SINCE) == (0, 1)
    assert await resolved_count(desk_running) == 0


async def test_a_reused_answer_link_changes_nothing_and_the_first_answer_counts(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    said_yes, yes_links = await self_service_ticket(desk_running, sink)
    await site.click(yes_links["yes"])
    before = await snapshot(desk_running, said_yes.id)
    for link in (yes_links["yes"], yes_links["no"]):
        status, page = await site.post(link, {})
        assert status == 200 and "We already have your answer" in page and "it solved the problem" in page
    assert await snapshot(desk_running, said_yes.id) == before

    said_no, no_links = await self_service_ticket(desk_running, sink)
    await site.click(no_links["no"])
    before = await snapshot(desk_running, said_no.id)
    for link in (no_links["no"], no_links["yes"]):
        status, page = await site.post(link, {})
        assert status == 200 and "We already have your answer" in page and "it did not help" in page
    assert await snapshot(desk_running, said_no.id) == before
    assert (await ticket(desk_running, said_no.id)).status is Status.OPEN
    assert await deflection_rate(desk_running.desk, SINCE) == (1, 2)


async def test_a_forged_tampered_expired_or_rating_token_on_the_answer_link_changes_nothing(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await self_service_ticket(desk_running, sink)
    before = await snapshot(desk_running, found.id)
    token = links["yes"].rsplit("/", 1)[1]
    secret, now = await desk_running.desk.secret(), desk_running.desk.clock.now()
    bad = [
        "Zm9yZ2Vk.bm90IGEgc2lnbmF0dXJl",
        changed_at(token, 3), changed_at(token, len(token) - 1),
        sign(secret, Purpose.DEFLECT, found.id, "yes", now - timedelta(seconds=1)),
        sign(secret, Purpose.RATING, found.id, "yes", now + TOKEN_LIFETIME),
        sign(secret, Purpose.DEFLECT, found.id, "maybe", now + TOKEN_LIFETIME),
    ]
    for token_given in bad:
        for status, page in (await site.get(f"/deflect/{token_given}"), await site.post(f"/deflect/{token_given}", {})):
            assert status == 404 and "This link is not valid" in page, token_given
    assert (await site.request("HEAD", links["yes"]))[0] == 405
    assert await snapshot(desk_running, found.id) == before
    assert await deflection_rate(desk_running.desk, SINCE) == (0, 1)


async def test_yes_after_an_agent_resolved_the_ticket_changes_nothing_and_is_not_counted(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await self_service_ticket(desk_running, sink)
    await actions.resolve(desk_running.desk, found.id, AGENT)
    before = await snapshot(desk_running, found.id)
    status, page = await site.click(links["yes"])
    assert status == 200 and "already resolved" in page
    assert await snapshot(desk_running, found.id) == before
    assert await deflection_rate(desk_running.desk, SINCE) == (0, 1)


async def test_the_deflection_rate_counts_only_tickets_created_since_the_given_time(
    desk_running: Running, sink: SmtpSink, site: Site
) -> None:
    found, links = await self_service_ticket(desk_running, sink)
    await site.click(links["yes"])
    assert await deflection_rate(desk_running.desk, found.timeline.created) == (1, 1)
    assert await deflection_rate(desk_running.desk, found.timeline.created + timedelta(seconds=1)) == (0, 0)
