"""The inbox table keeps every message once per content: redeliveries are counted, a reused Message-ID is a new
message (issue 13 point 1). On both backends, through the real migrations (0007 included)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from channels.email.digest import content_digest
from db import mail
from db.mail import Arrival, InboundStatus
from db.migrate import downgrade, upgrade
from db.session import Database

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ONE = b"From: a@example.com\r\nMessage-ID: <abc@example.com>\r\nSubject: one\r\n\r\nfirst body\r\n"
OTHER = b"From: a@example.com\r\nMessage-ID: <abc@example.com>\r\nSubject: two\r\n\r\nanother body\r\n"


async def keep(database: Database, raw: bytes, message_id: str = "abc@example.com",
               origin: str = "smtp") -> mail.Stored:
    async with database.transaction() as session:
        return await mail.store_inbound(session, message_id, content_digest(raw), raw, origin, T0)


async def test_other_content_under_a_stored_message_id_is_kept_as_a_new_message_naming_the_first(
    database: Database,
) -> None:
    first = await keep(database, ONE)
    second = await keep(database, OTHER, origin="imap")
    assert first.arrival is Arrival.NEW and second.arrival is Arrival.ID_COLLISION
    assert second.id != first.id and second.duplicate_of == first.id
    async with database.sessions() as session:
        one, two = await mail.get_inbound(session, first.id), await mail.get_inbound(session, second.id)
    assert one is not None and two is not None
    assert (one.raw, two.raw) == (ONE, OTHER)
    assert (one.duplicate_of, two.duplicate_of) == (None, first.id)
    assert two.status is InboundStatus.PENDING


async def test_the_same_content_again_is_counted_on_its_row_and_not_stored_twice(database: Database) -> None:
    first = await keep(database, ONE)
    again = await keep(database, ONE)
    relayed = await keep(database, b"Received: from relay2.example.net by mx\r\n" + ONE)  # another route
    assert (again.arrival, again.id) == (Arrival.REDELIVERY, first.id)
    assert (relayed.arrival, relayed.id) == (Arrival.REDELIVERY, first.id)
    async with database.sessions() as session:
        stored = await mail.get_inbound(session, first.id)
        assert await mail.count_by_status(session) == {"pending": 1}
    assert stored is not None and stored.deliveries == 3 and stored.raw == ONE


async def test_a_redelivery_within_one_transaction_is_counted_too(database: Database) -> None:
    async with database.transaction() as session:
        a = await mail.store_inbound(session, "x@y", content_digest(ONE), ONE, "smtp", T0)
        b = await mail.store_inbound(session, "x@y", content_digest(ONE), ONE, "smtp", T0)
    assert (a.arrival, b.arrival, b.id) == (Arrival.NEW, Arrival.REDELIVERY, a.id)


async def test_a_body_that_differs_by_one_byte_is_another_message() -> None:
    assert content_digest(ONE) != content_digest(ONE.replace(b"first", b"First"))
    assert content_digest(ONE) == content_digest(b"Delivered-To: support@wedsync.com\r\nReceived: by mx;\r\n"
                                                 b" Thu, 3 Dec 2026 09:00:00 +0000\r\n" + ONE)
    assert content_digest(b"") != content_digest(b"\x00\xff")


async def test_migration_0007_gives_existing_rows_their_digest_and_drops_the_unique_message_id(
    database: Database,
) -> None:
    await downgrade(database, "0006")
    async with database.transaction() as session:
        await session.execute(text(
            "INSERT INTO inbound_emails (message_id, raw, origin, received_at, status, attempts) "
            "VALUES ('abc@example.com', :raw, 'smtp', :at, 'processed', 1)"), {"raw": ONE, "at": T0})
    await upgrade(database)
    again = await keep(database, b"Received: by another.mx\r\n" + ONE)
    collision = await keep(database, OTHER)
    assert again.arrival is Arrival.REDELIVERY
    assert collision.arrival is Arrival.ID_COLLISION and collision.duplicate_of == again.id
    await downgrade(database, "0006")  # the later row sharing the id cannot stay under the old unique key
    async with database.sessions() as session:
        rows = (await session.execute(text("SELECT message_id FROM inbound_emails"))).all()
    assert rows == [("abc@example.com",)]
    await upgrade(database)
