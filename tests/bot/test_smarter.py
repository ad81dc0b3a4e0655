"""The smarter desk through the real creation path: WedSync's three automation rules, and the Reply modal's
suggestions (a knowledge-base article and the answer that resolved a similar ticket). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from bot import actions
from bot.desk import Desk
from bot.kb import index_folder
from bot.slack.suggest import chosen_text, reply_choices
from db import outbox
from db import tickets as ticket_store
from ticketing.create import NewTicket
from ticketing.model import Customer, Priority, Tier, UserType


async def open_for(desk: Desk, customer: Customer, subject: str, body: str) -> Any:
    async with desk.db.transaction() as session:
        stored = await ticket_store.save_customer(session, customer, desk.clock.now())
    return (await desk.open_ticket(NewTicket(stored, subject, body))).ticket


async def emails(desk: Desk, ticket_id: str) -> list[dict[str, Any]]:
    async with desk.db.sessions() as session:
        return [p for kind, _status, p in await outbox.items_for(session, ticket_id) if kind == "email"]


async def test_a_billing_ticket_about_a_refund_gets_the_policy_the_tag_and_high_priority(desk: Desk) -> None:
    customer = Customer("", "groom@example.com", "Ben", UserType.COUPLE, Tier.FREE,
                        desk.clock.now() - timedelta(days=300))
    ticket = await open_for(desk, customer, "Invoice question", "Can I get a refund on last month's invoice?")
    stored = await actions.get(desk, ticket.id)
    assert "refund_request" in stored.tags and stored.priority is Priority.HIGH
    bodies = [e["body"] for e in await emails(desk, ticket.id)]
    assert any("Monthly plans can be refunded within 14 days" in b for b in bodies)
    assert stored.metadata.extra["automation"][0]["rule"]


async def test_an_onboarding_ticket_from_a_day_old_account_gets_the_welcome_and_the_new_user_tag(desk: Desk) -> None:
    customer = Customer("", "photo@example.com", "Pia", UserType.SUPPLIER, Tier.STARTER,
                        desk.clock.now() - timedelta(hours=5))
    ticket = await open_for(desk, customer, "Getting started", "I just signed up, where do I begin?")
    stored = await actions.get(desk, ticket.id)
    assert "new_user" in stored.tags
    assert any("Welcome to WedSync" in e["body"] for e in await emails(desk, ticket.id))
    older = Customer("", "old@example.com", "Olga", UserType.SUPPLIER, Tier.STARTER,
                     desk.clock.now() - timedelta(hours=25))
    later = await actions.get(desk, (await open_for(desk, older, "Getting started", "I just signed up")).id)
    assert "new_user" not in later.tags


async def test_an_unhappy_frequent_customer_is_escalated_tagged_and_managers_are_told(desk: Desk) -> None:
    customer = Customer("", "venue@example.com", "Vera", UserType.SUPPLIER, Tier.PROFESSIONAL,
                        desk.clock.now() - timedelta(days=400))
    for number in range(6):
        earlier = await open_for(desk, customer, f"Question {number}", "How do I change my logo?")
        async with desk.db.transaction() as session:
            from dataclasses import replace

            from ticketing.model import Satisfaction

            current = await ticket_store.get_ticket(session, earlier.id)
            await ticket_store.update_ticket(session, replace(current, satisfaction=Satisfaction(2, "slow")))
    ticket = await open_for(desk, customer, "Again", "How do I change my logo?")
    stored = await actions.get(desk, ticket.id)
    assert "at_risk_customer" in stored.tags and stored.escalation.level == 1
    assert any(e["to"] == "sam@wedsync.com" for e in await emails(desk, ticket.id))  # the manager


async def test_the_reply_modal_offers_an_article_and_the_answer_that_resolved_a_similar_ticket(
    desk: Desk, tmp_path: Path
) -> None:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "csv.md").write_text("# Importing your guest list from CSV\n\nSave the sheet as CSV UTF-8, "
                                            "one guest a row, then use Guests > Import.\n", encoding="utf-8")
    await index_folder(desk.db, tmp_path / "kb", desk.clock.now())
    customer = Customer("", "cara@example.com", "Cara")
    past = await open_for(desk, customer, "CSV guest import fails", "My csv guest list import fails at row 3")
    await actions.reply(desk, past.id, "UTECHAGNT1", "Row 3 had a date in the wrong format; use 2027-06-14.",
                        actions.AfterSend.RESOLVE)
    other = Customer("", "dan@example.com", "Dan")
    ticket = await open_for(desk, other, "Guest list CSV import error", "The csv import of my guest list fails")
    canned, suggestions = await reply_choices(desk, ticket, "UTECHAGNT1")
    names = [name for name, _text, _score in suggestions]
    assert "Article: Importing your guest list from CSV" in names
    assert f"Answer that resolved {past.id}" in names
    assert all(0 <= score <= 1 for _n, _t, score in suggestions)
    from blocks.modals import canned_value

    picked = await chosen_text(desk, ticket, "UTECHAGNT1", canned_value(f"Answer that resolved {past.id}"))
    assert picked is not None and "wrong format" in picked
    assert canned  # the canned responses are there too
