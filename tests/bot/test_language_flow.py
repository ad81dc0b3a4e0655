"""The customer's language end to end: a French mail through the real SMTP listener becomes a ticket marked
French (the customer too), routed to the agent who speaks French, and confirmed in French through the real
mailer to a real SMTP sink; an English mail stays English, and a language with no translation falls back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import pytest

from bot.serve import Running, start
from bot.settings import Settings
from channels.learned.store import ModelStore
from db import tickets as ticket_store
from tests.bot.test_email_flow import a_mail, confirmation_for, handled, send, ticket
from tests.learned_models import small_model, small_seed
from tests.smtp_sink import SmtpSink
from ticketing.model import Ticket

SUPPORT_YML = """
company: WedSync
teams:
  billing_team: {channel: CBILLING01}
  general_support: {channel: CGENERAL01}
agents:
  - {slack_id: UBILLAGNT1, name: Bea Billing, email: bea@wedsync.com, team: billing_team, languages: [en],
     timezone: Europe/London, working_hours: "00:00-24:00", working_days: [mon, tue, wed, thu, fri, sat, sun]}
  - {slack_id: UBILLAGNT2, name: Flo Facture, email: flo@wedsync.com, team: billing_team, languages: [en, fr],
     timezone: Europe/Paris, working_hours: "00:00-24:00", working_days: [mon, tue, wed, thu, fri, sat, sun]}
canned_responses:
  - name: ticket_received
    content: |
      Hi {customer_name}, thanks: your ticket is {ticket_id}.
    translations:
      fr: |
        Bonjour {customer_name}, merci : votre ticket est le {ticket_id}.
"""


@pytest.fixture
async def desk_running(database_url: str, tmp_path: Path, sink: SmtpSink) -> AsyncIterator[Running]:
    config = tmp_path / "support.yml"
    config.write_text(SUPPORT_YML, encoding="utf-8")
    ModelStore(tmp_path / "models").save(small_model(), small_seed(), datetime.now(UTC))
    settings = Settings(_env_file=None, database_url=database_url, support_config=config,
                        classifier_dir=tmp_path / "models",
                        smtp_listen_port=0, http_port=0, smtp_host="127.0.0.1", smtp_port=sink.port,
                        smtp_starttls=False, message_id_domain="support.wedsync.com")
    running = await start(settings, say=lambda _line: None)
    yield running
    await running.stop()


async def opened(running: Running, sink: SmtpSink, subject: str, body: str) -> tuple[Ticket, Message]:
    message = a_mail(subject=subject, body=body)
    await send(running, message)
    item = await handled(running, message)
    assert item.ticket_id is not None, item.reason
    return await ticket(running, item.ticket_id), await confirmation_for(sink, "anna@example.com")


async def test_a_french_mail_is_routed_to_the_french_speaker_and_confirmed_in_french(
    desk_running: Running, sink: SmtpSink
) -> None:
    found, confirmation = await opened(desk_running, sink, "Mon paiement a échoué",
                                       "Bonjour, ma carte a été refusée lors du renouvellement. Merci, Anna")
    assert (found.language, found.category.value, found.assignee) == ("fr", "billing", "UBILLAGNT2")
    assert found.customer.language == "fr"
    assert confirmation.get_content().startswith(f"Bonjour Anna Bride, merci : votre ticket est le {found.id}.")
    async with desk_running.desk.db.sessions() as session:
        customer = await ticket_store.find_customer_by_email(session, "anna@example.com")
    assert customer is not None and customer.language == "fr"


async def test_an_english_mail_is_confirmed_in_english(desk_running: Running, sink: SmtpSink) -> None:
    found, confirmation = await opened(desk_running, sink, "Payment failed",
                                       "Hi, my card was declined when the plan renewed. Thanks, Anna")
    assert (found.language, found.assignee) == ("en", "UBILLAGNT1")
    assert confirmation.get_content().startswith("Hi Anna Bride, thanks: your ticket is")


async def test_a_language_without_a_translation_gets_the_english_text(desk_running: Running, sink: SmtpSink) -> None:
    found, confirmation = await opened(desk_running, sink, "Zahlung fehlgeschlagen",
                                       "Hallo, meine Karte wurde bei der Verlängerung abgelehnt. Danke, Anna")
    assert found.language == "de"
    assert confirmation.get_content().startswith("Hi Anna Bride, thanks: your ticket is")
