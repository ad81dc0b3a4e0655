"""Related and merged tickets: a customer's other tickets, very similar recent tickets, merge links and the
threading index re-pointed by a merge. No schema of its own: `ticket_links` (with its `kind`) and `mail_ids`.

Very similar (`similar_recent`)
  1. Candidates come from the full-text index over tickets' subject and description (db/kb.py's query
     building: the first QUERY_TERMS (16) of `search_terms`, subject first, ORed; FTS5 MATCH on SQLite,
     to_tsquery over the stored tickets.fts_document on PostgreSQL), created since `since`, best ranked
     first, at most CANDIDATES (20) of them. The ORed query finds every ticket sharing one word, so it only
     proposes; a near-duplicate holds most of those 16 words and ranks near the top.
  2. Each candidate is then compared with the new text the same way on both backends: the two texts' term
     sets (`comparable_terms`: the search words of db/kb.py, stop words dropped, with a light suffix fold so
     "fails", "failed" and "failing" are one term) and their Jaccard share, shared / all distinct terms.
  3. Very similar means `is_very_similar`: a share of at least MIN_SHARE (0.6) and at least MIN_SHARED (4)
     terms in common, or all the terms of a text shorter than that (never fewer than 2).
  The FTS relevance (kb.to_score) only orders equal shares: bm25 gives almost no weight to words found in over
  half the rows (a young desk, a burst of one problem) and ts_rank_cd knows nothing of rarity, so a threshold
  on either would not mean the same on both backends or in a week's time. The share does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import and_, bindparam, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import kb
from db.sqlite_inline import OFFLOAD
from db.tables import MailIdRow, TicketLinkRow, TicketRow
from db.types import UtcDateTime
from ticketing.model import Status

# `ticket_links.kind` values written here (the inbox writes "related" for a reply to a closed ticket).
SAME_CUSTOMER = "same_customer"
SIMILAR = "similar"
MERGED_INTO = "merged_into"  # on the row source -> target
MERGED_FROM = "merged_from"  # on the row target -> source

CANDIDATES = 20  # full-text hits compared term by term, at most (a near-duplicate ranks near the top)
MIN_SHARE = 0.6  # shared terms / all distinct terms of both texts
MIN_SHARED = 4  # terms in common, or all of the shorter text's when it has fewer (but at least 2)
QUERY_TERMS = 16  # search words in the full-text query (subject first): a near-duplicate holds most of them
COMPARE_TERMS = 400  # distinct terms of one text compared, at most (search_terms keeps 32 for the query)

_WORD = re.compile(r"[^\W_]+")
_KEEP_DOUBLE = frozenset("lsz")


@dataclass(frozen=True)
class SimilarTicket:
    ticket_id: str
    subject: str
    shared: int  # terms in common
    share: float  # shared / all distinct terms of both texts, 0..1
    score: float  # the full-text relevance as 0..1 (db.kb.to_score): ordering only


# -- comparing two texts -----------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """A light, consistent suffix fold (not a stemmer): save/saves/saved/saving -> sav, fails/failed -> fail."""
    if not word.isalpha():
        return word
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not (suffix == "s" and word.endswith("ss")):
            word = word[: -len(suffix)]
            if suffix in ("ing", "ed") and len(word) >= 4 and word[-1] == word[-2] and word[-1] not in _KEEP_DOUBLE:
                word = word[:-1]  # stopped -> stop, but called -> call, added -> add
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def comparable_terms(*texts: str) -> frozenset[str]:
    """The folded search words of the texts (db.kb's rules: letters and digits, lower case, no stop words)."""
    terms: set[str] = set()
    for chunk in texts:
        for match in _WORD.finditer(chunk):
            word = match.group().lower()
            if len(word) < 2 or len(word) > kb.MAX_TERM_LENGTH or word in kb.STOP_WORDS:
                continue
            terms.add(fold(word))
            if len(terms) == COMPARE_TERMS:
                return frozenset(terms)
    return frozenset(terms)


@lru_cache(maxsize=4096)
def _stored_terms(subject: str, description: str) -> frozenset[str]:
    """`comparable_terms` of a stored ticket: its text never changes, and the same recent tickets come back as
    candidates for one new ticket after another."""
    return comparable_terms(subject, description)


def overlap(a: frozenset[str], b: frozenset[str]) -> tuple[int, float]:
    """(terms in common, Jaccard share)."""
    shared = len(a & b)
    union = len(a | b)
    return shared, (shared / union if union else 0.0)


def is_very_similar(a: frozenset[str], b: frozenset[str]) -> bool:
    shared, share = overlap(a, b)
    needed = max(2, min(MIN_SHARED, len(a), len(b)))
    return share >= MIN_SHARE and shared >= needed


# -- similar recent tickets --------------------------------------------------------------------------------

_NOT_MERGED = f"""
    NOT EXISTS (SELECT 1 FROM ticket_links l WHERE l.ticket_id = t.id AND l.kind = '{MERGED_INTO}')
"""

_SQLITE_SIMILAR = text(
    f"""{OFFLOAD}
    SELECT t.id, t.subject, t.description, -bm25(fts_tickets, 0.0, {kb.TITLE_WEIGHT}, 1.0, 0.0) AS raw
    FROM fts_tickets JOIN tickets t ON t.id = fts_tickets.ticket_id
    WHERE fts_tickets MATCH :query AND t.created_at BETWEEN :since AND :until AND t.id NOT IN :exclude
      AND {_NOT_MERGED}
    ORDER BY raw DESC, t.id
    LIMIT :limit
    """
).bindparams(bindparam("exclude", expanding=True), bindparam("since", type_=UtcDateTime()),
            bindparam("until", type_=UtcDateTime()))

_POSTGRES_SIMILAR = text(
    f"""
    SELECT t.id, t.subject, t.description, ts_rank_cd({kb.TICKET_DOCUMENT}, q.query, 1) AS raw
    FROM tickets t, to_tsquery('english', CAST(:query AS text)) AS q(query)
    WHERE {kb.TICKET_DOCUMENT} @@ q.query AND t.created_at BETWEEN :since AND :until AND t.id NOT IN :exclude
      AND {_NOT_MERGED}
    ORDER BY raw DESC, t.id
    LIMIT :limit
    """
).bindparams(bindparam("exclude", expanding=True), bindparam("since", type_=UtcDateTime()),
            bindparam("until", type_=UtcDateTime()))


async def similar_recent(
    session: AsyncSession,
    subject: str,
    description: str,
    since: datetime,
    limit: int = 5,
    exclude: Iterable[str] = (),
    until: datetime | None = None,
) -> list[SimilarTicket]:
    """Tickets created between `since` and `until` (no upper bound when not given) whose text is very similar to
    this (the rule is in the module docstring), most similar first; tickets merged into another are left out, and
    so are the `exclude` ids. On SQLite, `until` also lets FTS5 rank only those days' tickets (migration 0006)."""
    terms = kb.search_terms(subject, description)[:QUERY_TERMS]
    if not terms or limit <= 0:
        return []
    dialect = session.get_bind().dialect.name
    sqlite = dialect == "sqlite"
    query = kb.tsquery_text(terms)
    if sqlite:
        query = kb.fts5_query(terms)
        days = _days(since, until)
        if days:  # FTS5 ranks only these days' tickets, not all history (the created_at test stays exact)
            query = f"({query}) AND day : ({' OR '.join(days)})"
    rows = await session.execute(
        _SQLITE_SIMILAR if sqlite else _POSTGRES_SIMILAR,
        {"query": query, "since": since, "until": until or FAR_FUTURE, "exclude": list(exclude) or [""],
         "limit": CANDIDATES},
    )
    mine = comparable_terms(subject, description)
    found: list[SimilarTicket] = []
    for ticket_id, other_subject, other_description, raw in rows:
        theirs = _stored_terms(other_subject, other_description)
        if is_very_similar(mine, theirs):
            shared, share = overlap(mine, theirs)
            found.append(SimilarTicket(ticket_id, other_subject, shared, share, kb.to_score(raw, dialect)))
    found.sort(key=lambda hit: (-hit.share, -hit.score, hit.ticket_id))
    return found[:limit]


FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
MAX_DAYS = 62  # a longer span searches without the day filter (the created_at test still applies)


def _days(since: datetime, until: datetime | None) -> list[str]:
    """The `day` tokens of SQLite's ticket index (migration 0006) from `since` to `until`, UTC, quoted."""
    if until is None or until < since:
        return []
    first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
    count = (last - first).days + 1
    if count > MAX_DAYS:
        return []
    return [f'"d{(first + timedelta(days=n)).strftime("%Y%m%d")}"' for n in range(count)]


# -- a customer's tickets ----------------------------------------------------------------------------------


async def customer_tickets(
    session: AsyncSession,
    customer_id: str,
    statuses: Iterable[Status],
    exclude: Iterable[str] = (),
    limit: int = 100,
) -> list[tuple[str, str]]:
    """(id, subject) of the customer's tickets in these statuses, newest first."""
    query = (
        select(TicketRow.id, TicketRow.subject)
        .where(TicketRow.user_id == customer_id, TicketRow.status.in_([s.value for s in statuses]))
        .order_by(TicketRow.created_at.desc(), TicketRow.id)
        .limit(limit)
    )
    excluded = list(exclude)
    if excluded:
        query = query.where(TicketRow.id.not_in(excluded))
    return [(ticket_id, subject) for ticket_id, subject in await session.execute(query)]


# -- links -------------------------------------------------------------------------------------------------


async def link_all(session: AsyncSession, ticket_id: str, others: dict[str, str], now: datetime) -> None:
    """Symmetric links from `ticket_id` to each of `others` (id -> kind), as db.tickets.link_tickets makes them,
    in one read and one write: a pair already linked keeps its kind."""
    if not others:
        return
    ids = list(others)
    existing: set[tuple[str, str]] = {
        (left, right)
        for left, right in (
            await session.execute(
                select(TicketLinkRow.ticket_id, TicketLinkRow.related_id).where(
                    or_(
                        and_(TicketLinkRow.ticket_id == ticket_id, TicketLinkRow.related_id.in_(ids)),
                        and_(TicketLinkRow.ticket_id.in_(ids), TicketLinkRow.related_id == ticket_id),
                    )
                )
            )
        )
    }
    for other, kind in others.items():
        for pair in ((ticket_id, other), (other, ticket_id)):
            if pair not in existing:
                session.add(TicketLinkRow(ticket_id=pair[0], related_id=pair[1], kind=kind, created_at=now))
    await session.flush()


async def link_kinds(session: AsyncSession, ticket_id: str) -> dict[str, str]:
    """related id -> kind, for the ticket's links."""
    rows = await session.execute(
        select(TicketLinkRow.related_id, TicketLinkRow.kind).where(TicketLinkRow.ticket_id == ticket_id)
    )
    return {related: kind for related, kind in rows}


async def link_merged(session: AsyncSession, source: str, target: str, now: datetime) -> None:
    """The merge link, one row each way with its direction as the kind (an earlier link of the pair becomes it)."""
    for left, right, kind in ((source, target, MERGED_INTO), (target, source, MERGED_FROM)):
        row = await session.get(TicketLinkRow, (left, right))
        if row is None:
            session.add(TicketLinkRow(ticket_id=left, related_id=right, kind=kind, created_at=now))
        else:
            row.kind, row.created_at = kind, now
    await session.flush()


async def merged_into(session: AsyncSession, ticket_id: str) -> str | None:
    """The ticket this one was merged into, if it was."""
    found = await session.execute(
        select(TicketLinkRow.related_id).where(TicketLinkRow.ticket_id == ticket_id, TicketLinkRow.kind == MERGED_INTO)
    )
    return found.scalars().first()


# -- threading ---------------------------------------------------------------------------------------------


async def repoint_mail_ids(session: AsyncSession, source: str, target: str) -> int:
    """Every Message-ID of `source` (in and out) now threads to `target`; how many."""
    result = await session.execute(
        update(MailIdRow).where(MailIdRow.ticket_id == source).values(ticket_id=target)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
