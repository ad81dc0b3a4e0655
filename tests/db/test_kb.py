"""The knowledge base and full-text search, on SQLite (FTS5) and PostgreSQL, through the real migrations."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, text

from bot.kb import KnowledgeBaseError, index_folder, parse_article
from db import kb
from db import tickets as store
from db.migrate import upgrade
from db.session import Database, open_database
from db.tables import CustomerRow, MessageRow, TicketRow
from ticketing.classify import classify, default_patterns
from ticketing.create import NewTicket, create_ticket
from ticketing.lifecycle import add_agent_reply, add_customer_reply, add_note, close, resolve
from ticketing.model import Author, Customer, Message, Ticket, Tier, UserType, Visibility

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

ARTICLES = {
    "guests/importing-guest-list.md": """# Importing your guest list from CSV

You can bring your whole guest list into WedSync from a spreadsheet instead of typing it in.

1. Export the sheet as a CSV file (comma-separated values) with a column for each guest's name and email.
2. Open **Guests → Import** and upload the file.
3. Match each column to a guest field and press *Import*.

If the import fails, save the file again as CSV UTF-8: most failures come from another encoding or from
a missing header row. Files up to 5,000 guests are supported.
""",
    "payments/card-payments-fail.md": """# Why card payments fail

A card payment can fail when the bank declines it, the card has expired, or the 3-D Secure check was not
completed in time. Ask the couple to try again with the same card after checking the details, or to use
another card. Payments that fail three times are paused for 24 hours to protect the account.
""",
    "forms/getting-started.md": """---
owner: success-team
---
# Getting started with forms

The form builder lets you collect RSVPs, menu choices and questionnaires from your guests. Create a form
from **Forms → New form**, add fields, and share the link. Answers appear in the Responses tab.
""",
    "billing/refund-policy.md": """# Refund policy

Annual subscriptions can be refunded in full within 14 days of payment. After that we refund the unused
months when a wedding is cancelled. Refunds go back to the card used for the payment within 5 working days.
""",
}

HOSTILE = [
    '"unbalanced',
    "a AND -b*",
    "NEAR(",
    "NEAR(csv guests, 2)",
    "csv* OR \"guest list",
    "title:csv",
    "^csv + (upload",
    "'); DROP TABLE kb_articles; --",
    "!!! ??? ::: ***",
    "🎉💍👰 my csv 🤵 won't upload 😭",
    "AND OR NOT NEAR",
    "",
    "   ",
    "x" * 5000,
    "\x00 csv \\ upload ' \" `",
    "ÇŠV ümlaut naïve café 婚礼 ゲスト",
    " ".join(f"word{i}" for i in range(10_000)),
]


def write_folder(folder: Path, articles: dict[str, str]) -> Path:
    for path, content in articles.items():
        file = folder / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture
async def indexed(database: Database, tmp_path: Path) -> Path:
    folder = write_folder(tmp_path / "kb", ARTICLES)
    assert await index_folder(database, folder, T0) == (4, 0, 0)
    return folder


async def search(db: Database, query: str, limit: int = 3) -> list[kb.ArticleHit]:
    async with db.sessions() as session:
        return await kb.search_articles(session, query, limit)


# -- articles ----------------------------------------------------------------------------------------------


async def test_realistic_customer_text_finds_the_csv_article_first(database: Database, indexed: Path) -> None:
    hits = await search(database, "my csv upload of guests keeps failing!!")
    assert hits[0].path == "guests/importing-guest-list.md"
    assert hits[0].title == "Importing your guest list from CSV"
    assert "CSV" in hits[0].snippet and "\n" not in hits[0].snippet
    assert all(0.0 < hit.score < 1.0 for hit in hits)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert hits[0].score > hits[-1].score


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Card declined, payment failed twice", "payments/card-payments-fail.md"),
        ("how do I get a refund for my subscription?", "billing/refund-policy.md"),
        ("Where can I build an RSVP form", "forms/getting-started.md"),
        ("GUEST LIST import", "guests/importing-guest-list.md"),
    ],
)
async def test_each_article_is_found_by_the_words_a_customer_would_use(
    database: Database, indexed: Path, query: str, expected: str
) -> None:
    assert (await search(database, query))[0].path == expected


async def test_text_with_no_useful_word_finds_nothing(database: Database, indexed: Path) -> None:
    assert await search(database, "Hi! Can you help me please? Thanks") == []
    assert await search(database, "zebra xylophone") == []
    assert await search(database, "csv", limit=0) == []


async def test_hostile_text_never_reaches_the_index_as_syntax(database: Database, indexed: Path) -> None:
    for query in HOSTILE:
        hits = await search(database, query)
        assert all(0.0 <= hit.score <= 1.0 for hit in hits), query
    # Words inside hostile text still count as words.
    assert (await search(database, '"csv* AND -upload NEAR(guests'))[0].path == "guests/importing-guest-list.md"
    assert (await search(database, "🎉💍 my csv 🤵 won't upload 😭"))[0].path == "guests/importing-guest-list.md"
    async with database.sessions() as session:
        assert len(await kb.similar_resolved(session, '"unbalanced', "a AND -b* NEAR( 🎉 " * 2000)) == 0


async def test_random_printable_text_never_raises(database: Database, indexed: Path) -> None:
    chance = random.Random(20261120)
    alphabet = 'abcXYZ019 "\'*-+^:()[]{}!?.,;\\/<>|&~@#$%=_`\t\n🎉é婚'
    async with database.sessions() as session:
        for _ in range(150):
            query = "".join(chance.choice(alphabet) for _ in range(chance.randint(0, 60)))
            await kb.search_articles(session, query)
            await kb.similar_resolved(session, query, query)


async def test_an_updated_file_changes_results_and_a_deleted_file_disappears(
    database: Database, indexed: Path
) -> None:
    assert await search(database, "gift registry") == []
    (indexed / "billing/refund-policy.md").write_text(
        "# Refund policy\n\nGift registry contributions are refunded to the guest who paid.\n", encoding="utf-8"
    )
    (indexed / "guests/importing-guest-list.md").unlink()
    assert await index_folder(database, indexed, T0 + timedelta(hours=1)) == (1, 2, 1)
    (hit,) = await search(database, "gift registry")
    assert hit.path == "billing/refund-policy.md" and "Gift registry" in hit.snippet
    assert await search(database, "annual subscription cancelled") == []  # the old text is gone from the index
    assert all(h.path != "guests/importing-guest-list.md" for h in await search(database, "csv upload guests"))
    async with database.sessions() as session:
        assert "guests/importing-guest-list.md" not in await kb.article_paths(session)


async def test_indexing_again_writes_nothing_and_counts_each_kind_of_change(
    database: Database, indexed: Path
) -> None:
    assert await index_folder(database, indexed, T0) == (0, 4, 0)
    write_folder(indexed, {"faq/seating.md": "Seating plans can be printed from the Tables page."})
    (indexed / "forms/getting-started.md").unlink()
    assert await index_folder(database, indexed, T0) == (1, 3, 1)
    (hit,) = await search(database, "print my seating plan")
    assert (hit.path, hit.title) == ("faq/seating.md", "seating")


async def test_upsert_reports_whether_the_article_changed(database: Database) -> None:
    async with database.transaction() as session:
        assert await kb.upsert_article(session, "a.md", "Title", "Body text", T0) is True
        assert await kb.upsert_article(session, "a.md", "Title", "Body text", T0) is False
        assert await kb.upsert_article(session, "a.md", "Title", "New body text", T0) is True
        assert await kb.remove_missing(session, ["a.md"]) == 0
        assert await kb.remove_missing(session, []) == 1


async def test_the_search_reads_the_full_text_index(database: Database, indexed: Path) -> None:
    async with database.sessions() as session:
        if database.is_sqlite:
            plan = await session.execute(
                text("EXPLAIN QUERY PLAN SELECT rowid FROM fts_kb_articles WHERE fts_kb_articles MATCH '\"csv\"'"))
            assert any("VIRTUAL TABLE INDEX" in str(row[-1]) for row in plan)
            return
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        for table, where, index in [
            ("kb_articles a", "a.fts_document @@ to_tsquery('english', 'csv')", "fts_kb_articles_document"),
            ("tickets t", f"{kb.TICKET_DOCUMENT} @@ to_tsquery('english', 'csv')", "fts_tickets_stored_document"),
        ]:
            explained = await session.execute(text(f"EXPLAIN SELECT 1 FROM {table} WHERE {where}"))
            plan = "\n".join(row[0] for row in explained)
            assert index in plan, plan


async def test_a_missing_folder_is_an_error_not_an_empty_knowledge_base(database: Database, indexed: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="does not exist"):
        await index_folder(database, indexed / "nope", T0)
    assert (await search(database, "csv guests"))[0].path == "guests/importing-guest-list.md"  # index kept


# -- markdown and query building (no database) --------------------------------------------------------------


def test_the_title_is_the_first_heading_or_the_file_name() -> None:
    article = parse_article("a/b.md", "\ufeffIntro line\n\n```sh\n# not a title\n```\n# Real title #\nText\n## Sub")
    assert article.title == "Real title"
    assert article.body == "Intro line\n\n```sh\n# not a title\n```\nText\n## Sub"
    assert parse_article("guests/seating-plans_faq.md", "## Only a subheading\nText").title == "seating plans faq"
    assert parse_article("x.md", "---\ntitle: meta\n---\n# Front\nBody").body == "Body"


def test_free_text_becomes_plain_words_ored() -> None:
    terms = kb.search_terms('My CSV "upload" of guests keeps FAILING!! a AND -b* NEAR(')
    assert terms == ["csv", "upload", "guests", "keeps", "failing", "near"]
    assert kb.fts5_query(terms[:2]) == '"csv" OR "upload"'
    assert kb.tsquery_text(terms[:2]) == "'csv' | 'upload'"
    assert len(kb.search_terms(" ".join(f"w{i}" for i in range(10_000)))) == kb.MAX_TERMS


@given(st.text())
def test_terms_hold_only_letters_and_digits(free_text: str) -> None:
    terms = kb.search_terms(free_text)
    assert len(terms) <= kb.MAX_TERMS and len(set(terms)) == len(terms)
    assert all(2 <= len(t) <= kb.MAX_TERM_LENGTH and all(c.isalnum() for c in t) for t in terms)


def test_scores_are_a_monotone_squash_into_0_1() -> None:
    for dialect, half in kb.HALF_SCORE.items():
        assert kb.to_score(0.0, dialect) == 0.0 and kb.to_score(-3.0, dialect) == 0.0
        assert kb.to_score(half, dialect) == pytest.approx(0.5)
        assert kb.to_score(1.0, dialect) < kb.to_score(2.0, dialect) < kb.to_score(1e9, dialect) <= 1.0


# -- answers from similar resolved tickets ------------------------------------------------------------------


async def a_ticket(db: Database, ticket_id: str, subject: str, body: str, email: str = "bride@example.com") -> Ticket:
    async with db.transaction() as session:
        customer = await store.save_customer(
            session, Customer("", email, "Bride", UserType.COUPLE, Tier.SCALE, T0 - timedelta(days=40)), T0)
        classification = classify(subject, body, default_patterns())
        ticket = create_ticket(NewTicket(customer, subject, body), classification, ticket_id, T0).ticket
        await store.insert_ticket(session, ticket)
    return ticket


def agent(ticket: Ticket, n: int, body: str, visibility: Visibility = Visibility.PUBLIC) -> Message:
    return Message(f"{ticket.id}-a{n}", Author.AGENT, body, T0 + timedelta(minutes=n), visibility, "UTECHAGNT1")


async def save(db: Database, ticket: Ticket) -> None:
    async with db.transaction() as session:
        await store.update_ticket(session, ticket)


CSV_ANSWER = "Save the sheet as CSV UTF-8 and upload it again; the import then takes all your guests."


@pytest.fixture
async def history(database: Database) -> Database:
    """A resolved CSV ticket, a closed payment ticket, an open CSV ticket and a resolved unanswered one."""
    csv = await a_ticket(database, "TEC-AAAA-001", "Guest list import fails",
                         "I tried to import my guests from a CSV spreadsheet and it says the file is invalid")
    csv = add_agent_reply(csv, agent(csv, 1, "Sorry about that, looking into it now."))
    csv = add_note(csv, agent(csv, 2, "encoding problem again", Visibility.INTERNAL))
    csv = add_customer_reply(csv, Message("c-1", Author.CUSTOMER, "any news?", T0 + timedelta(minutes=3)))
    csv = add_agent_reply(csv, agent(csv, 4, CSV_ANSWER))
    csv = add_note(csv, agent(csv, 5, "closing: customer confirmed", Visibility.INTERNAL))
    await save(database, resolve(csv, T0 + timedelta(hours=1)))

    card = await a_ticket(database, "BIL-AAAA-002", "Card payment failed", "The payment of my plan failed twice")
    card = add_agent_reply(card, agent(card, 1, "Your bank declined it; please try another card."))
    await save(database, close(resolve(card, T0 + timedelta(hours=2)), T0 + timedelta(hours=3)))

    still_open = await a_ticket(database, "TEC-AAAA-003", "CSV import of guests", "csv guests import failing")
    await save(database, add_agent_reply(still_open, agent(still_open, 1, "Still investigating the CSV import.")))

    unanswered = await a_ticket(database, "TEC-AAAA-004", "CSV guests import", "csv guest import help")
    await save(database, resolve(unanswered, T0 + timedelta(hours=1)))
    return database


async def test_the_answer_that_resolved_the_most_similar_past_ticket_is_suggested(history: Database) -> None:
    async with history.sessions() as session:
        answers = await kb.similar_resolved(session, "CSV upload broken", "my csv upload of guests keeps failing!!")
    assert answers[0].ticket_id == "TEC-AAAA-001"
    assert answers[0].subject == "Guest list import fails"
    assert answers[0].answer == CSV_ANSWER  # the last public agent message: not a note, not an earlier reply
    assert 0.0 < answers[0].score < 1.0
    # Open tickets and resolved tickets nobody answered have no answer to offer.
    assert {a.ticket_id for a in answers} <= {"TEC-AAAA-001", "BIL-AAAA-002"}


async def test_closed_tickets_count_and_a_ticket_can_be_left_out(history: Database) -> None:
    async with history.sessions() as session:
        (answer,) = await kb.similar_resolved(session, "Payment failed", "card declined", limit=1)
        assert answer.ticket_id == "BIL-AAAA-002"
        others = await kb.similar_resolved(session, "Payment failed", "card declined", exclude_ticket="BIL-AAAA-002")
        assert all(a.ticket_id != "BIL-AAAA-002" for a in others)
        assert await kb.similar_resolved(session, "hello", "thanks!") == []


async def test_a_ticket_is_found_by_its_new_subject_after_an_edit(history: Database) -> None:
    async with history.transaction() as session:
        ticket = await store.get_ticket(session, "BIL-AAAA-002")
        await store.update_ticket(session, replace(ticket, subject="Seating chart printing"))
    async with history.sessions() as session:
        (answer,) = await kb.similar_resolved(session, "printing the seating chart", "")
        assert answer.ticket_id == "BIL-AAAA-002"
        assert all(a.ticket_id != "BIL-AAAA-002" for a in await kb.similar_resolved(session, "card", ""))


async def test_tickets_stored_before_the_migration_are_searchable(database_url: str) -> None:
    db = open_database(database_url)
    try:
        await upgrade(db, "0002")
        request = NewTicket(Customer("c-old", "old@example.com", "Old"), "CSV import broken",
                            "guest list csv will not import")
        ticket = create_ticket(request, classify(request.subject, request.description, default_patterns()),
                               "TEC-OLDD-001", T0).ticket
        ticket = resolve(add_agent_reply(ticket, agent(ticket, 1, CSV_ANSWER)), T0 + timedelta(hours=1))
        async with db.transaction() as session:  # only the columns revision 0002 has, so no ORM rows
            await session.execute(insert(CustomerRow.__table__).values(
                id="c-old", email="old@example.com", name="Old", user_type="couple", tier="free", language="en",
                undeliverable=False, created_at=T0))
            columns = store._ticket_columns(ticket)
            columns["metadata"] = columns.pop("metadata_")
            await session.execute(insert(TicketRow.__table__).values(id=ticket.id, **columns))
            for seq, message in enumerate(ticket.messages, start=1):
                await session.execute(insert(MessageRow.__table__).values(
                    id=message.id, ticket_id=ticket.id, seq=seq, type=message.author.value,
                    visibility=message.visibility.value, message=message.body, attachments=[],
                    created_at=message.created_at, edit_history=[]))
        await upgrade(db)
        async with db.sessions() as session:
            (answer,) = await kb.similar_resolved(session, "csv import", "guests")
        assert (answer.ticket_id, answer.answer) == ("TEC-OLDD-001", CSV_ANSWER)
    finally:
        await db.close()
