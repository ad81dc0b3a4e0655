"""Properties: whatever a customer writes, every builder gives valid blocks and no markup of theirs survives."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from blocks.card import build_customer_message, build_ticket_card
from blocks.founder import build_founder_dm
from blocks.home import HomeStats, build_home
from blocks.messages import SlaClock, build_escalation_message, build_sla_breach, build_sla_warning
from blocks.modals import build_category_modal, build_escalate_modal, build_note_modal, build_reply_modal
from blocks.text import Mrkdwn, chunks, cut, escape, unescape
from tests.ticketing.builders import NOW, a_customer, a_customer_reply, a_ticket, a_ticket_in
from ticketing.escalation import EscalationRole, EscalationTarget, escalate
from ticketing.model import Priority, Status

from .slack_checks import assert_only_own_markup, check_message, check_view

INJECTIONS = [
    "<!channel>", "<!here>", "<!everyone>", "<@U123>", "<#C123>", "<!subteam^S123>", "<https://evil|click>",
    "<!date^0^{date}|x>", "&", "&amp;", "&lt;", "<", ">", "|", "*", "`", "\n", "\r\n", " ", "…",
]
hostile = st.lists(st.one_of(st.text(max_size=40), st.sampled_from(INJECTIONS)), max_size=12).map("".join)
# Now and then long: a short hostile text repeated up to 120,000 characters.
long_hostile = st.tuples(hostile, st.integers(1, 5000)).map(lambda pair: (pair[0] * pair[1])[:120_000])


@given(subject=hostile, name=hostile, body=long_hostile, status=st.sampled_from(Status))
def test_the_card_and_the_customer_message_validate_and_escape_whatever_the_customer_wrote(
    subject: str, name: str, body: str, status: Status
) -> None:
    ticket = a_ticket_in(status, subject=subject, customer=a_customer(name=name), assignee="U0SAMPATEL")

    check_message(*build_ticket_card(ticket, NOW, customer_label=name, assignee_name=name, reason=body[:500],
                                     breach=subject or None, related=(subject,) if subject else ()))
    check_message(*build_customer_message(a_customer_reply(body), name, ticket_id=ticket.id))


@given(subject=hostile, name=hostile, body=long_hostile, reason=hostile)
def test_thread_messages_and_the_founder_dm_validate_and_escape(
    subject: str, name: str, body: str, reason: str
) -> None:
    ticket = a_ticket(subject=subject, customer=a_customer(name=name), priority=Priority.HIGH)
    ticket = escalate(ticket, reason, NOW)
    ticket = replace(ticket, messages=(*ticket.messages, a_customer_reply(body)))

    check_message(*build_escalation_message(ticket, EscalationTarget(1, EscalationRole.SENIOR, None)))
    check_message(*build_sla_warning(ticket, NOW, clock=SlaClock.FIRST_RESPONSE))
    check_message(*build_sla_breach(ticket, NOW, clock=SlaClock.RESOLUTION))
    check_message(*build_founder_dm(ticket, NOW, customer_label=name, permalink="https://x.slack.com/p1"))


@given(subject=hostile, name=hostile, names=st.lists(hostile, max_size=120), preview=long_hostile)
def test_modals_and_the_home_tab_validate_and_escape(
    subject: str, name: str, names: list[str], preview: str
) -> None:
    ticket = a_ticket(subject=subject, customer=a_customer(name=name))
    canned = [(n, preview) for n in names]

    check_view(build_reply_modal(ticket, canned, [(n, preview, 0.5) for n in names[:3]],
                                 selected=names[0] if names else None))
    check_view(build_escalate_modal(ticket))
    check_view(build_note_modal(ticket))
    check_view(build_category_modal(ticket))
    check_view(build_home(name, [ticket] * 60, [ticket] * 60, HomeStats(period=subject), NOW))


@given(text=hostile)
def test_escaped_text_has_no_markup_and_unescapes_to_the_original(text: str) -> None:
    escaped = escape(text)

    assert_only_own_markup(escaped)
    assert unescape(escaped) == text
    assert escape(escaped) is escaped


@given(text=long_hostile, limit=st.integers(1, 4000))
def test_cut_fits_the_limit_keeps_a_prefix_and_counts_what_it_removed(text: str, limit: int) -> None:
    shortened, removed = cut(text, limit)

    assert len(shortened) <= limit
    if removed == 0:
        assert shortened == text
    else:
        kept = shortened.removesuffix("…")
        assert text.startswith(kept)
        assert len(kept) + removed == len(text)


@given(text=long_hostile, limit=st.integers(1, 4000))
def test_cut_of_escaped_text_never_splits_an_entity(text: str, limit: int) -> None:
    shortened, removed = cut(escape(text), limit)

    assert isinstance(shortened, Mrkdwn)
    assert_only_own_markup(shortened)
    kept = unescape(shortened.removesuffix("…")) if removed else unescape(shortened)
    assert len(kept) + removed == len(text)


@given(text=long_hostile, size=st.integers(5, 3000))
def test_chunks_keep_everything_within_the_size_and_split_no_entity(text: str, size: int) -> None:
    escaped = escape(text)

    pieces = chunks(escaped, size)

    assert "".join(pieces) == escaped
    assert all(len(p) <= size for p in pieces)
    for piece in pieces:
        assert_only_own_markup(piece)
