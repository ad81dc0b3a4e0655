"""Recovered mail end to end: the parser's recovery fixtures sent over SMTP become tickets with their content.

smtplib -> the real listener -> the store -> the inbox worker -> the core, on SQLite and PostgreSQL. Each
mail here was lost before issue 13 (quarantined for want of a From, "not an email", or stored as a
signature or a separator line); now each is a ticket from the right customer with the words they sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.serve import Running, start
from bot.settings import Settings
from channels.email.parse import parse_email
from db.mail import InboundStatus
from tests.bot.test_email_flow import inbound_for, send, ticket
from tests.smtp_sink import SmtpSink
from tests.waiting import eventually

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"

# fixture -> (customer address, words the first message of the ticket must hold)
CASES = {
    "sender_reply_to_only.eml": ("d.okafor@yahoo.com", "We were charged twice for the November subscription."),
    "sender_second_from_header.eml": ("maya.chen@outlook.com", 'shows "nothing here yet" on their side'),
    "sender_trailing_dot_in_brackets.eml": ("priya@ramanphotography.co.uk", "says it has expired after two days"),
    "sender_junk_first_line.eml": ("grace@gracefulblooms.com", "couples still see the old ones"),
    "content_mixed_html_then_plain_signature.eml": ("sam.oneill@yahoo.co.uk",
                                                    "drops every guest whose surname has an apostrophe"),
    "content_forward_only_message_rfc822.eml": ("ella@wrightweddings.co.uk", "only 40 of 120 guests have replied"),
    "header8_gb2312_raw_body_utf8.eml": ("xiaoming@huameiwedding.cn", "每次点击保存，表单都会清空。"),
}


@pytest.fixture
async def desk(database_url: str, support_yml: Path, sink: SmtpSink) -> AsyncIterator[Running]:
    settings = Settings(_env_file=None, database_url=database_url, support_config=support_yml,
                        smtp_listen_port=0, http_port=0, smtp_host="127.0.0.1", smtp_port=sink.port,
                        smtp_starttls=False, message_id_domain="support.wedsync.com")
    running = await start(settings, say=lambda _line: None)
    yield running
    await running.stop()


async def test_recovered_mails_sent_over_smtp_become_tickets_with_their_content(desk: Running) -> None:
    for name, (customer, words) in CASES.items():
        raw = (FIXTURES / name).read_bytes()
        parsed = parse_email(raw)
        await send(desk, raw, sender=customer)
        item = await eventually(lambda mid=parsed.message_id: inbound_for(desk, mid))
        assert item.status is InboundStatus.PROCESSED, (name, item.reason)
        assert item.ticket_id is not None
        found = await ticket(desk, item.ticket_id)
        assert found.customer.email == customer, name
        assert words in found.messages[0].body, (name, found.messages[0].body)
        assert found.subject == parsed.subject, name
