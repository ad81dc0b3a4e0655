"""Related and duplicate tickets: links made on creation, and Merge (the workflow, mail threading afterwards, and
the Slack modal through signed requests). On SQLite and PostgreSQL, through the real migrations."""

from __future__ import annotations

import email
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from email.message import Message as MailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import related
from bot.bootstrap import start_desk
from bot.desk import Desk
from bot.serve import Running, start
from bot.settings import Settings
from bot.slack import app as slack_app
from bot.slack import merge as slack_merge
from db import mail as mail_store
from db import related as related_store
from db import tickets as ticket_store
from db.tables import OutboxRow
from tests.bot.slack_helpers import SIGNING_SECRET, SlackSender, submission, text_value
from tests.bot.test_email_flow import a_mail, eventually, handled, send
from tests.clocks import FakeClock
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401
from tests.smtp_sink import SmtpSink
from ticketing.create import NewTicket
from ticketing.lifecycle import add_customer_reply, add_note, close, resolve
from ticketing.model import Author, Message, Source, Status, Ticket, Visibility

ANNA, BEN, CARA = "anna@example.com", "ben@example.com", "cara@example.com"
AGENT = "UTECHAGNT1"

FORM = ("My RSVP form won't save", "Hi, my RSVP form won't save since this morning. I press save and nothing happens.")
FORM_AGAIN = ("RSVP form not saving", "Hello, the RSVP form is not saving since this morning; pressing save does "
              "nothing.")
CSV = ("CSV import fails with error 500", "When I upload my guest list CSV the import fails with error 500.")
CSV_AGAIN = ("CSV import failing - error 500", "Uploading the guest list CSV, the import fails and shows error 500.")
PAYMENT = ("Payment failed", "My card payment failed twice when paying for the annual plan.")
ONE_WORD = ("Question about my form", "How do I change the colours of my form?")  # shares only "form" with FORM


# -- fixtures and helpers ----------------------------------------------------------------------------------


@pytest.fixture
def slack_settings(database_url: str, support_yml: Path) -> Settings:
    """Slack configured (nothing started), so Slack effects are written to the outbox where tests read them."""
    return Settings(_env_file=None, database_url=database_url, support_config=support_yml,
                    slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET)


@pytest.fixture
async def desk(slack_settings: Settings, clock: FakeClock) -> AsyncIterator[Desk]:
    desk = await start_desk(slack_settings, clock)
    related.install(desk)  # what bot/bootstrap.py's wiring line does (install adds it once)
    yield desk
    await desk.db.close()


async def open_ticket(desk: Desk, address: str, text: tuple[str, str], name: str = "") -> Ticket:
    async with desk.db.transaction() as session:
        customer = await ticket_store.ensure_customer(session, address, name, desk.clock.now())
    created = await desk.open_ticket(NewTicket(customer, text[0], text[1], Source.EMAIL), confirm=False)
    return created.ticket


async def load(desk: Desk, ticket_id: str) -> Ticket:
    async with desk.db.sessions() as session:
        return await ticket_store.get_ticket(session, ticket_id)


async def kinds(desk: Desk, ticket_id: str) -> dict[str, str]:
    async with desk.db.sessions() as session:
        return await related_store.link_kinds(session, ticket_id)


async def outbox(desk: Desk, kind: str, after: int = 0) -> list[dict[str, Any]]:
    async with desk.db.sessions() as session:
        rows = await session.execute(select(OutboxRow.payload).where(OutboxRow.kind == kind, OutboxRow.id > after)
                                     .order_by(OutboxRow.id))
        return [dict(p) for p in rows.scalars()]


async def last_outbox_id(desk: Desk) -> int:
    async with desk.db.sessions() as session:
        rows = await session.execute(select(OutboxRow.id).order_by(OutboxRow.id.desc()).limit(1))
        return rows.scalar() or 0


def cards(payloads: list[dict[str, Any]]) -> list[str]:
    return [p["ticket_id"] for p in payloads if p["op"] == "card"]


def threads(payloads: list[dict[str, Any]], ticket_id: str) -> list[str]:
    return [p["text"] for p in payloads if p["op"] == "thread" and p["ticket_id"] == ticket_id]


async def customer_reply(desk: Desk, ticket_id: str, body: str, sender: str = ANNA) -> None:
    async with desk.db.transaction() as session:
        found = await ticket_store.get_ticket(session, ticket_id, for_update=True)
        message = Message(f"{ticket_id}-r{len(found.messages)}", Author.CUSTOMER, body, desk.clock.now(),
                          Visibility.PUBLIC, sender)
        await ticket_store.update_ticket(session, add_customer_reply(found, message))


# -- the similarity rule -------------------------------------------------------------------------------------


def test_the_fold_makes_word_forms_one_term_the_same_way_every_time() -> None:
    assert {related_store.fold(w) for w in ("save", "saves", "saved", "saving")} == {"sav"}
    assert {related_store.fold(w) for w in ("fail", "fails", "failed", "failing")} == {"fail"}
    assert related_store.fold("stopped") == related_store.fold("stop") == "stop"
    assert related_store.fold("address") == related_store.fold("addresses") == "address"
    assert related_store.fold("500") == "500"


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        (FORM, FORM_AGAIN, True),
        (CSV, CSV_AGAIN, True),
        (FORM, FORM, True),
        (("Form won't save", ""), ("Form won't save", ""), True),  # short, and the same terms
        (FORM, ONE_WORD, False),  # one common word
        (FORM, PAYMENT, False),
        (("Wedding guest form won't save", ""), ("How do I add a wedding guest to the form?", ""), False),
        (("Invoice", ""), ("Invoice", ""), False),  # one term is never enough
    ],
    ids=["reworded form", "reworded csv", "identical", "short identical", "one common word", "unrelated",
         "three of four terms", "single term"],
)
def test_very_similar_needs_a_high_share_of_shared_terms_and_several_of_them(
    a: tuple[str, str], b: tuple[str, str], similar: bool
) -> None:
    assert related_store.is_very_similar(related_store.comparable_terms(*a),
                                         related_store.comparable_terms(*b)) is similar


# -- links on creation ---------------------------------------------------------------------------------------


async def test_a_second_request_from_the_same_customer_links_to_their_open_ticket(desk: Desk) -> None:
    first = await open_ticket(desk, ANNA, FORM)
    mark = await last_outbox_id(desk)
    second = await open_ticket(desk, ANNA, PAYMENT)

    assert await kinds(desk, second.id) == {first.id: "same_customer"}
    assert (await load(desk, first.id)).related == (second.id,)
    assert (await load(desk, second.id)).related == (first.id,)
    effects = await outbox(desk, "slack", mark)
    assert first.id in cards(effects) and second.id in cards(effects)  # the old card shows the link too
    assert threads(effects, second.id)[0] == f"Linked: `{first.id}` (same customer, open)"


async def test_a_customers_resolved_or_closed_ticket_is_not_linked_as_same_customer(
    desk: Desk, clock: FakeClock
) -> None:
    done = await open_ticket(desk, ANNA, PAYMENT)
    async with desk.db.transaction() as session:
        await ticket_store.update_ticket(session, close(resolve(done, clock.now()), clock.now()))
    second = await open_ticket(desk, ANNA, CSV)

    assert await kinds(desk, second.id) == {}


async def test_a_near_duplicate_from_another_customer_within_14_days_links_as_similar(
    desk: Desk, clock: FakeClock
) -> None:
    first = await open_ticket(desk, ANNA, CSV)
    clock.advance(days=13)
    second = await open_ticket(desk, BEN, CSV_AGAIN)

    assert await kinds(desk, second.id) == {first.id: "similar"}
    assert await kinds(desk, first.id) == {second.id: "similar"}
    note = threads(await outbox(desk, "slack"), second.id)[0]
    assert note.startswith(f"Linked: `{first.id}` (very similar text, ") and "% of terms shared" in note


async def test_an_unrelated_ticket_a_one_word_overlap_and_a_20_day_old_duplicate_are_not_linked(
    desk: Desk, clock: FakeClock
) -> None:
    old = await open_ticket(desk, ANNA, FORM)
    clock.advance(days=20)
    await open_ticket(desk, CARA, PAYMENT)
    await open_ticket(desk, CARA.replace("cara", "dora"), ONE_WORD)
    duplicate = await open_ticket(desk, BEN, FORM_AGAIN)

    assert await kinds(desk, duplicate.id) == {}
    assert await kinds(desk, old.id) == {}


async def test_a_ticket_merged_away_is_not_offered_as_similar(desk: Desk, clock: FakeClock) -> None:
    source = await open_ticket(desk, ANNA, CSV)
    target = await open_ticket(desk, ANNA, PAYMENT)
    await related.merge(desk, source.id, target.id, AGENT)
    later = await open_ticket(desk, BEN, CSV_AGAIN)

    assert source.id not in await kinds(desk, later.id)


async def test_links_stop_at_five_the_customers_newest_open_tickets_first(desk: Desk, clock: FakeClock) -> None:
    mine = []
    for number in range(7):
        clock.advance(minutes=1)
        mine.append(await open_ticket(desk, ANNA, (f"Question {number}", f"Thing number {number}")))
    duplicate_elsewhere = await open_ticket(desk, BEN, CSV)
    clock.advance(minutes=1)
    newest = await open_ticket(desk, ANNA, CSV_AGAIN)

    linked = await kinds(desk, newest.id)
    assert len(linked) == related.MAX_LINKS == 5
    assert set(linked) == {t.id for t in mine[-5:]} and set(linked.values()) == {"same_customer"}
    assert duplicate_elsewhere.id not in linked  # the cap is full of the customer's own open tickets


async def test_similar_recent_works_on_its_own_and_orders_by_share(desk: Desk, clock: FakeClock) -> None:
    exact = await open_ticket(desk, ANNA, CSV_AGAIN)
    close_one = await open_ticket(desk, BEN, CSV)
    await open_ticket(desk, CARA, PAYMENT)
    async with desk.db.sessions() as session:
        hits = await related_store.similar_recent(session, *CSV_AGAIN, since=clock.now() - timedelta(days=14),
                                                  limit=5, exclude=[])
        none_since = await related_store.similar_recent(session, *CSV_AGAIN, since=clock.now() + timedelta(days=1))
        hostile = await related_store.similar_recent(session, 'NEAR( "csv* OR', "AND -import", clock.now())
        by_day = await related_store.similar_recent(session, *CSV_AGAIN, since=clock.now() - timedelta(days=14),
                                                    until=clock.now())  # SQLite: only those days' tickets ranked
        other_days = await related_store.similar_recent(session, *CSV_AGAIN, since=clock.now() - timedelta(days=30),
                                                        until=clock.now() - timedelta(days=15))

    assert [h.ticket_id for h in hits] == [exact.id, close_one.id] == [h.ticket_id for h in by_day]
    assert other_days == []
    assert hits[0].share == 1.0 and 0.6 <= hits[1].share < 1.0 and 0 <= hits[1].score < 1
    assert none_since == [] and hostile == []


# -- merge ---------------------------------------------------------------------------------------------------


async def two_of_annas(desk: Desk, clock: FakeClock) -> tuple[Ticket, Ticket]:
    """A target, and a later source with a customer reply: their messages interleave in time."""
    target = await open_ticket(desk, ANNA, FORM, "Anna Bride")
    clock.advance(minutes=5)
    source = await open_ticket(desk, ANNA, PAYMENT, "Anna Bride")
    clock.advance(minutes=5)
    await customer_reply(desk, target.id, "Still not saving.")
    clock.advance(minutes=5)
    await customer_reply(desk, source.id, "And it failed a third time.")
    clock.advance(minutes=5)
    return source, target


async def test_merge_moves_the_messages_in_order_and_closes_the_source(desk: Desk, clock: FakeClock) -> None:
    source, target = await two_of_annas(desk, clock)
    before_source, before_target = await load(desk, source.id), await load(desk, target.id)

    merged = await related.merge(desk, source.id.lower(), f"[{target.id}]", AGENT)

    assert merged.id == target.id and merged.status is Status.OPEN
    bodies = [m.body for m in merged.messages]
    assert bodies == [FORM[1], "Still not saving.", PAYMENT[1], "And it failed a third time.",
                      f"Merged from {source.id} by <@{AGENT}>: its 2 messages are above this note."]
    copies = merged.messages[2:4]
    for copy, original in zip(copies, before_source.messages, strict=True):
        assert (copy.author, copy.visibility, copy.sender, copy.created_at) == (
            original.author, original.visibility, original.sender, original.created_at)
        assert copy.id != original.id
    assert merged.messages[:2] == before_target.messages
    assert merged.messages[-1].author is Author.SYSTEM and merged.messages[-1].visibility is Visibility.INTERNAL
    closed = await load(desk, source.id)
    assert closed.status is Status.CLOSED
    assert closed.timeline.resolved == closed.timeline.closed == clock.now()
    assert closed.messages[-1].body == f"Merged into {target.id} by <@{AGENT}>."
    assert len(closed.messages) == 3  # its own history stays
    assert await kinds(desk, source.id) == {target.id: "merged_into"}
    assert (await kinds(desk, target.id))[source.id] == "merged_from"  # the same_customer link became the merge


async def test_merge_tells_the_customer_once_and_refreshes_both_cards_and_threads(
    desk: Desk, clock: FakeClock
) -> None:
    source, target = await two_of_annas(desk, clock)
    mark = await last_outbox_id(desk)

    await related.merge(desk, source.id, target.id, AGENT)

    mails = await outbox(desk, "email", mark)
    assert len(mails) == 1
    (mail,) = mails
    assert (mail["to"], mail["ticket_id"], mail["subject"]) == (ANNA, target.id, target.subject)
    assert f"Your requests {source.id}" in mail["body"] and f"handled together as {target.id}" in mail["body"]
    assert mail["body"].startswith("Hi Anna Bride,")
    effects = await outbox(desk, "slack", mark)
    assert sorted(cards(effects)) == sorted([source.id, target.id])
    assert f"merged `{source.id}` into this ticket" in threads(effects, target.id)[0]
    assert f"merged this ticket into `{target.id}`" in threads(effects, source.id)[0]


async def test_merge_moves_participants_and_the_threading_index_to_the_target(desk: Desk, clock: FakeClock) -> None:
    source, target = await two_of_annas(desk, clock)
    async with desk.db.transaction() as session:
        await ticket_store.add_participants(session, source.id, ["ben@example.com"])
        await mail_store.record_mail_id(session, "<source-in@example.com>", source.id, "in", clock.now())
        await mail_store.record_mail_id(session, "<source-out@support>", source.id, "out", clock.now())

    await related.merge(desk, source.id, target.id, AGENT)

    async with desk.db.sessions() as session:
        assert await ticket_store.participants(session, target.id) == ["ben@example.com"]
        assert await mail_store.tickets_for_mail_ids(session, ["<source-in@example.com>", "<source-out@support>"]) \
            == {"<source-in@example.com>": target.id, "<source-out@support>": target.id}
        followed = await related.follow_merges(session, await ticket_store.get_ticket(session, source.id))
    assert followed is not None and followed.id == target.id


async def test_a_merge_into_a_resolved_ticket_reopens_it(desk: Desk, clock: FakeClock) -> None:
    source, target = await two_of_annas(desk, clock)
    async with desk.db.transaction() as session:
        await ticket_store.update_ticket(session, resolve(await ticket_store.get_ticket(session, target.id),
                                                          clock.now()))

    merged = await related.merge(desk, source.id, target.id, AGENT)

    assert merged.status is Status.IN_PROGRESS


async def test_merges_are_followed_through_a_chain(desk: Desk, clock: FakeClock) -> None:
    first = await open_ticket(desk, ANNA, FORM)
    second = await open_ticket(desk, ANNA, CSV)
    third = await open_ticket(desk, ANNA, PAYMENT)
    await related.merge(desk, first.id, second.id, AGENT)
    await related.merge(desk, second.id, third.id, AGENT)

    async with desk.db.sessions() as session:
        followed = await related.follow_merges(session, await ticket_store.get_ticket(session, first.id))
    assert followed is not None and followed.id == third.id
    assert [m.body for m in (await load(desk, third.id)).messages][:2] == [PAYMENT[1], CSV[1]]


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        ("itself", "cannot be merged into itself"),
        ("missing", "There is no ticket TKT-NOPE0000-XYZ."),
        ("other customer", "belong to different customers (anna@example.com and ben@example.com)"),
        ("merged already", "was already merged into"),
        ("closed source", "is closed; only tickets that are not closed can be merged"),
        ("closed target", "is closed; merge into a ticket that is not closed"),
        ("merged target", "; merge into "),
        ("no target", "Say which ticket to merge into."),
    ],
)
async def test_merge_is_refused_clearly_and_changes_nothing(
    desk: Desk, clock: FakeClock, case: str, refusal: str
) -> None:
    source = await open_ticket(desk, ANNA, FORM)
    target = await open_ticket(desk, ANNA, CSV)
    bens = await open_ticket(desk, BEN, PAYMENT)
    target_id = {"itself": source.id, "missing": "TKT-NOPE0000-XYZ", "other customer": bens.id,
                 "no target": " "}.get(case, target.id)
    if case == "merged already":
        await related.merge(desk, source.id, target.id, AGENT)
    elif case in ("closed source", "closed target"):
        closing = source if case == "closed source" else target
        async with desk.db.transaction() as session:
            await ticket_store.update_ticket(session, close(resolve(closing, clock.now()), clock.now()))
    elif case == "merged target":
        other = await open_ticket(desk, ANNA, PAYMENT)
        await related.merge(desk, target.id, other.id, AGENT)
    mark = await last_outbox_id(desk)
    before = await load(desk, source.id)

    with pytest.raises(related.MergeRefused, match=refusal.replace("(", r"\(").replace(")", r"\)")):
        await related.merge(desk, source.id, target_id, AGENT)

    assert await load(desk, source.id) == before
    assert await outbox(desk, "email", mark) == []
    assert await related.check_merge(desk, source.id, target_id) is not None


async def test_an_internal_note_stays_internal_when_merged(desk: Desk, clock: FakeClock) -> None:
    source, target = await two_of_annas(desk, clock)
    async with desk.db.transaction() as session:
        found = await ticket_store.get_ticket(session, source.id, for_update=True)
        note = Message("note-1", Author.AGENT, "Card declined by the bank", clock.now(), Visibility.INTERNAL, AGENT)
        await ticket_store.update_ticket(session, add_note(found, note))

    merged = await related.merge(desk, source.id, target.id, AGENT)

    copy = next(m for m in merged.messages if m.body == "Card declined by the bank")
    assert (copy.author, copy.visibility, copy.sender) == (Author.AGENT, Visibility.INTERNAL, AGENT)
    assert replace(copy, id="note-1") == note


# -- mail end to end: threading after a merge ---------------------------------------------------------------


@pytest.fixture
async def mail_desk(database_url: str, support_yml: Path, sink: SmtpSink) -> AsyncIterator[Running]:
    settings = Settings(_env_file=None, database_url=database_url, support_config=support_yml,
                        smtp_listen_port=0, http_port=0,
                        smtp_host="127.0.0.1", smtp_port=sink.port, smtp_starttls=False,
                        message_id_domain="support.wedsync.com")
    desk = await start_desk(settings)
    related.install(desk)
    running = await start(settings, say=lambda _line: None, desk=desk)
    yield running
    await running.stop()


def mails_to(sink: SmtpSink, address: str) -> list[MailMessage]:
    """The mails to `address`, without self-service answers ("Did this solve it?", bot/deflection.py)."""
    mails = [email.message_from_bytes(m.raw, policy=default_policy) for m in sink.messages if address in m.rcpt_tos]
    return [m for m in mails if "Did this solve it?" not in m.get_content()]


async def mails_count(sink: SmtpSink, address: str, count: int) -> list[MailMessage]:
    async def check() -> list[MailMessage] | None:
        found = mails_to(sink, address)
        return found if len(found) >= count else None

    return await eventually(check)


async def merged_by_mail(running: Running, sink: SmtpSink) -> tuple[Ticket, Ticket, MailMessage, MailMessage]:
    """Two mails from Anna (the second becomes the source), both confirmed, then merged; (source, target,
    the source's original mail, the merge notice)."""
    first, second = a_mail(subject=FORM[0], body=FORM[1]), a_mail(subject=PAYMENT[0], body=PAYMENT[1])
    tickets = []
    for mail in (first, second):
        await send(running, mail)
        tickets.append(await load(running.desk, (await handled(running, mail)).ticket_id or ""))
    target, source = tickets
    await mails_count(sink, ANNA, 2)
    assert await kinds(running.desk, source.id) == {target.id: "same_customer"}
    await related.merge(running.desk, source.id, target.id, AGENT)
    notice = (await mails_count(sink, ANNA, 3))[-1]
    return source, target, second, notice


async def test_after_a_merge_a_reply_to_the_sources_mail_lands_in_the_target_and_one_email_went_out(
    mail_desk: Running, sink: SmtpSink
) -> None:
    source, target, source_mail, notice = await merged_by_mail(mail_desk, sink)
    assert notice["Subject"] == f"Re: {FORM[0]} [{target.id}]"
    assert source_mail["Message-ID"] in notice["References"]  # the customer's client threads both conversations
    assert f"handled together as {target.id}" in notice.get_content()

    reply = a_mail(subject=f"Re: {PAYMENT[0]}", body="It worked with another card.",
                   In_Reply_To=source_mail["Message-ID"], References=source_mail["Message-ID"])
    await send(mail_desk, reply)
    assert (await handled(mail_desk, reply)).ticket_id == target.id
    after = await load(mail_desk.desk, target.id)
    assert after.messages[-1].body == "It worked with another card."
    assert (await load(mail_desk.desk, source.id)).status is Status.CLOSED
    async with mail_desk.desk.db.sessions() as session:
        assert len(await ticket_store.list_tickets(session)) == 2  # nothing new opened
    assert len(mails_to(sink, ANNA)) == 3  # two confirmations and the one merge notice


async def test_after_a_merge_a_reply_tagged_with_the_sources_id_lands_in_the_target(
    mail_desk: Running, sink: SmtpSink
) -> None:
    source, target, _source_mail, _notice = await merged_by_mail(mail_desk, sink)
    confirmation = next(m for m in mails_to(sink, ANNA) if f"[{source.id}]" in m["Subject"])
    reply = a_mail(subject=confirmation["Subject"], body="One more thing.", In_Reply_To=confirmation["Message-ID"])
    await send(mail_desk, reply)
    assert (await handled(mail_desk, reply)).ticket_id == target.id


# -- Slack: the Merge option, the modal and its submission --------------------------------------------------


TECH = "CTECHNIC01"


@pytest.fixture
async def slack_desk(database_url: str, support_yml: Path, sink: SmtpSink, slack_api: SlackApi,
                     monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    original = slack_app._register_card_actions

    def wired(app: Any, desk: Desk) -> None:  # the wiring line in build_app: merge.register before the card's
        slack_merge.register(app, desk)
        original(app, desk)

    monkeypatch.setattr(slack_app, "_register_card_actions", wired)
    settings = Settings(_env_file=None, database_url=database_url, support_config=support_yml, smtp_listen_port=0,
                        smtp_host="127.0.0.1", smtp_port=sink.port, smtp_starttls=False,
                        slack_bot_token=slack_api.token, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack_api.url, http_port=0, slack_channel_interval=0)
    desk = await start_desk(settings)
    related.install(desk)
    running = await start(settings, say=lambda _line: None, desk=desk)
    yield running
    await running.stop()
    slack_api.assert_no_invalid()


def overflow(user: str, value: str, block_id: str, trigger_id: str) -> dict[str, Any]:
    return {"type": "block_actions", "user": {"id": user, "team_id": "T0WEDSYNC1"}, "team": {"id": "T0WEDSYNC1"},
            "api_app_id": "AAPPDESK01", "trigger_id": trigger_id, "channel": {"id": TECH},
            "container": {"type": "message", "channel_id": TECH}, "response_url": "http://127.0.0.1:9/unused",
            "actions": [{"type": "overflow", "action_id": "overflow", "block_id": block_id,
                         "selected_option": {"value": value, "text": {"type": "plain_text", "text": value}},
                         "action_ts": "1.0"}]}


def picked(ticket_id: str) -> dict[str, Any]:
    return {"merge_target": {"merge_target": {"type": "static_select", "selected_option": {
        "value": ticket_id, "text": {"type": "plain_text", "text": ticket_id}}}}}


async def test_the_merge_option_opens_the_modal_and_its_submission_merges_or_names_the_problem(
    slack_desk: Running, sink: SmtpSink, slack_api: SlackApi
) -> None:
    assert slack_desk.slack is not None and slack_desk.slack.http is not None
    slack = SlackSender(slack_desk.slack.http.port)
    opened: list[Ticket] = []
    for sender, text in ((ANNA, FORM), (ANNA, ("Form logo blurry", "The logo on my RSVP form is blurry.")),
                         (BEN, CSV)):
        mail = a_mail(sender=sender, subject=text[0], body=text[1])
        await send(slack_desk, mail, sender)
        opened.append(await load(slack_desk.desk, (await handled(slack_desk, mail)).ticket_id or ""))
    target, source, bens = opened

    status, _ = await slack.interaction(overflow(AGENT, "merge", f"card_actions:{source.id}",
                                                 slack_api.new_trigger_id()))
    assert status == 200

    async def modal() -> dict[str, Any] | None:
        found = [v for v in slack_api.views if v.get("callback_id") == "merge_modal"]
        return found[-1] if found else None

    view = await eventually(modal)
    assert view["private_metadata"] == source.id
    select_block = next(b for b in view["blocks"] if b.get("block_id") == "merge_target")
    assert [o["value"] for o in select_block["element"]["options"]] == [target.id]  # Anna's other ticket only

    for values, problem in ((text_value("merge_target_id", "FB-NOPE0000-XYZ"), "There is no ticket"),
                            (text_value("merge_target_id", bens.id.lower()), "different customers"),
                            (text_value("merge_target_id", source.id), "into itself"),
                            ({}, "Choose a ticket or type its id")):
        status, answer = await slack.interaction(submission(AGENT, view, values))
        assert status == 200 and '"errors"' in answer and problem in answer, answer
    assert (await load(slack_desk.desk, source.id)).status is Status.OPEN

    status, answer = await slack.interaction(submission(AGENT, view, picked(target.id)))
    assert status == 200 and "errors" not in answer

    async def merged() -> Ticket | None:
        found = await load(slack_desk.desk, source.id)
        return found if found.status is Status.CLOSED else None

    await eventually(merged)
    assert "The logo on my RSVP form is blurry." in [m.body for m in (await load(slack_desk.desk, target.id)).messages]
    notices = await mails_count(sink, ANNA, 3)
    assert sum("handled together" in m.get_content() for m in notices) == 1
