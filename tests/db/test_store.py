"""The store on both backends, through the real migrations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from db import canned as canned_store
from db import metrics, outbox
from db import tickets as store
from db.errors import NotFound
from db.kb import include_name
from db.session import Database
from db.tables import Base
from tests.clocks import FakeClock
from ticketing.canned import CannedResponse
from ticketing.classify import default_patterns, match_patterns
from ticketing.create import NewTicket, create_ticket
from ticketing.lifecycle import add_agent_reply, add_note, resolve
from ticketing.model import Author, Customer, Message, Priority, Status, Tier, UserType, Visibility

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def a_stored_ticket(db: Database, email: str = "bride@example.com", subject: str = "Payment failed",
                          body: str = "My card payment failed twice", ticket_id: str = "BIL-MIDQ1Z2K-7QF"):
    async with db.transaction() as session:
        customer = await store.save_customer(
            session, Customer("", email, "Bride", UserType.COUPLE, Tier.SCALE, T0 - timedelta(days=40), "de"), T0)
        request = NewTicket(customer, subject, body)
        classification = match_patterns(subject, body, default_patterns())
        assert classification is not None
        ticket = create_ticket(request, classification, ticket_id, T0).ticket
        await store.insert_ticket(session, ticket)
    return ticket


async def test_the_migrations_build_exactly_the_declared_tables(database: Database) -> None:
    async with database.engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"include_name": include_name}), Base.metadata))
    assert diff == []


async def test_the_schema_has_indexes_on_status_priority_customer_assignee_and_created(database: Database) -> None:
    async with database.engine.connect() as connection:
        indexes = await connection.run_sync(lambda sync: inspect(sync).get_indexes("tickets"))
    indexed = {column for index in indexes for column in index["column_names"]}
    assert {"status", "priority", "user_id", "assigned_to", "created_at"} <= indexed


async def test_a_ticket_round_trips_with_every_field_and_aware_utc_times(database: Database) -> None:
    ticket = await a_stored_ticket(database)
    async with database.sessions() as session:
        loaded = await store.get_ticket(session, ticket.id)
    # The customer as loaded now counts this ticket among their tickets; everything else is as saved.
    assert loaded.customer.previous_tickets == 1
    assert replace(loaded, customer=ticket.customer) == ticket
    assert loaded.timeline.created.tzinfo is not None
    assert loaded.timeline.created.utcoffset() == timedelta(0)
    assert loaded.customer.tier is Tier.SCALE and loaded.customer.language == "de"


async def test_an_updated_ticket_keeps_its_messages_in_order_and_appends_new_ones(database: Database) -> None:
    ticket = await a_stored_ticket(database)
    reply = Message("m-2", Author.AGENT, "Looking now", T0 + timedelta(minutes=5), sender="UBILLAGNT1")
    note = Message("m-3", Author.AGENT, "card issuer problem", T0 + timedelta(minutes=6),
                   visibility=Visibility.INTERNAL, sender="UBILLAGNT1")
    changed = resolve(add_note(add_agent_reply(ticket, reply), note), T0 + timedelta(minutes=7))
    async with database.transaction() as session:
        await store.update_ticket(session, changed)
    async with database.sessions() as session:
        loaded = await store.get_ticket(session, ticket.id)
    assert [m.id for m in loaded.messages] == [ticket.messages[0].id, "m-2", "m-3"]
    assert loaded.status is Status.RESOLVED
    assert loaded.timeline.first_response == T0 + timedelta(minutes=5)
    assert [m.id for m in loaded.internal_notes] == ["m-3"]


async def test_getting_an_unknown_ticket_raises_not_found_and_finding_it_gives_none(database: Database) -> None:
    async with database.sessions() as session:
        assert await store.find_ticket(session, "BIL-NOPE-000") is None
        with pytest.raises(NotFound):
            await store.get_ticket(session, "BIL-NOPE-000")


async def test_listing_filters_by_status_priority_team_and_assignee(database: Database) -> None:
    first = await a_stored_ticket(database, ticket_id="BIL-AAAA-001")
    await a_stored_ticket(database, email="groom@example.com", subject="How do I add a form?",
                          body="Where is the form builder?", ticket_id="FB-AAAA-002")
    async with database.sessions() as session:
        assert [t.id for t in await store.list_tickets(session, team="billing_team")] == [first.id]
        assert [t.id for t in await store.list_tickets(session, priority=Priority.CRITICAL)] == [first.id]
        assert len(await store.list_tickets(session, [Status.OPEN])) == 2
        assert await store.list_tickets(session, [Status.RESOLVED]) == []
        assert await store.list_tickets(session, assignee="UNOBODY") == []


async def test_customer_history_counts_previous_tickets(database: Database) -> None:
    await a_stored_ticket(database, ticket_id="BIL-AAAA-001")
    await a_stored_ticket(database, ticket_id="BIL-AAAA-002")
    async with database.sessions() as session:
        customer = await store.find_customer_by_email(session, "BRIDE@example.com")
    assert customer is not None and customer.previous_tickets == 2


async def test_agent_loads_count_open_tickets_and_customers_handled(database: Database) -> None:
    ticket = await a_stored_ticket(database)
    async with database.transaction() as session:
        from ticketing.lifecycle import assign

        await store.update_ticket(session, assign(ticket, "UBILLAGNT1", T0))
    async with database.sessions() as session:
        loads = await store.agent_loads(session, ["UBILLAGNT1", "UOTHER0001"], ticket.customer.id)
    assert loads["UBILLAGNT1"].open_tickets == 1
    assert ticket.customer.id in loads["UBILLAGNT1"].customers_handled
    assert loads["UOTHER0001"].open_tickets == 0 and not loads["UOTHER0001"].customers_handled


async def test_links_are_found_from_both_tickets(database: Database) -> None:
    a = await a_stored_ticket(database, ticket_id="BIL-AAAA-001")
    b = await a_stored_ticket(database, ticket_id="BIL-AAAA-002")
    async with database.transaction() as session:
        await store.link_tickets(session, a.id, b.id, "related", T0)
        await store.link_tickets(session, b.id, a.id, "related", T0)  # twice is harmless
    async with database.sessions() as session:
        assert (await store.get_ticket(session, a.id)).related == (b.id,)
        assert (await store.get_ticket(session, b.id)).related == (a.id,)


async def test_the_outbox_gives_due_items_and_retries_later(database: Database) -> None:
    clock = FakeClock(T0)
    async with database.transaction() as session:
        item = await outbox.enqueue(session, "email", {"to": "a@b.c"}, clock.now())
    async with database.transaction() as session:
        due = await outbox.claim_due(session, ("email",), clock.now(), 10)
        assert [d.id for d in due] == [item]
        # leased: another worker does not get it while this one delivers
        assert await outbox.claim_due(session, ("email",), clock.now(), 10) == []
        await outbox.mark_retry(session, item, "smtp down", clock.now() + timedelta(seconds=30))
    async with database.transaction() as session:
        assert await outbox.claim_due(session, ("email",), clock.advance(seconds=10), 10) == []
        assert [d.attempts for d in await outbox.claim_due(session, ("email",), clock.advance(seconds=30), 10)] == [1]
        await outbox.mark_sent(session, item, clock.now(), {"message_id": "x@y"})
    async with database.sessions() as session:
        assert await outbox.claim_due(session, ("email",), clock.advance(days=1), 10) == []


async def test_hourly_metrics_accumulate_by_category_priority_and_agent(database: Database) -> None:
    async with database.transaction() as session:
        await metrics.bump(session, T0 + timedelta(minutes=5), metrics.Bump(created=1), "billing", "high", None)
        await metrics.bump(session, T0 + timedelta(minutes=50), metrics.Bump(resolved=1, resolution_minutes=30.0),
                           "billing", "high", "UBILLAGNT1")
    async with database.sessions() as session:
        (row,) = await metrics.metrics_between(session, T0, T0 + timedelta(hours=1))
    assert (row.tickets_created, row.tickets_resolved, row.resolution_minutes_sum) == (1, 1, 30.0)
    assert row.by_category == {"billing": {"created": 1, "resolved": 1}}
    assert row.by_agent == {"UBILLAGNT1": {"resolved": 1}}


async def test_canned_responses_sync_by_name_and_keep_usage(database: Database) -> None:
    async with database.transaction() as session:
        await canned_store.sync_canned(session, [CannedResponse("hello", "Hi {customer_name}")], T0)
        await canned_store.count_use(session, "hello")
        await canned_store.sync_canned(session, [CannedResponse("hello", "Hello {customer_name}")], T0)
    async with database.sessions() as session:
        assert await canned_store.find_canned(session, "hello") == CannedResponse("hello", "Hello {customer_name}")
        assert await canned_store.find_canned(session, "nope") is None


async def test_the_store_refuses_a_naive_datetime(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with database.transaction() as session:
            await outbox.enqueue(session, "email", {}, datetime(2026, 1, 1))


async def test_preferred_operations_are_claimed_first_but_nothing_waits_past_its_patience(database: Database) -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    async with database.transaction() as session:
        old = await outbox.enqueue(session, "slack", {"op": "thread", "ticket_id": "A"}, now - timedelta(minutes=5))
        chatter = await outbox.enqueue(session, "slack", {"op": "thread", "ticket_id": "B"}, now - timedelta(seconds=5))
        card = await outbox.enqueue(session, "slack", {"op": "card", "ticket_id": "C"}, now - timedelta(seconds=1))
    async with database.transaction() as session:
        claimed = await outbox.claim_due(session, ("slack",), now, 10, first_ops=("card",),
                                         patience=timedelta(seconds=30))
    assert [item.id for item in claimed] == [old, card, chatter]  # the long-waiting row, then the card
    async with database.transaction() as session:
        assert await outbox.claim_due(session, ("slack",), now, 10) == []  # all three are leased now
