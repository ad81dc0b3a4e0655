"""The knowledge base and full-text search: suggested articles and answers from similar resolved tickets.

The index is SQLite FTS5 or PostgreSQL full-text search, built by migration 0003 (see its docstring for the
objects on each backend). Everything here takes free customer text and never lets it reach the database as
query syntax:

Query building (`search_terms`)
  1. The text is cut into words: maximal runs of Unicode letters and digits. Everything else (punctuation,
     quotes, `*`, `-`, `(`, emoji, ...) only separates words, so FTS operators cannot be written.
  2. Words are lower-cased; stop words (STOP_WORDS: English function words and support-mail pleasantries),
     one-character words and words longer than MAX_TERM_LENGTH are dropped, as are repeats.
  3. The first MAX_TERMS remaining words are kept (subject first, so its words win over a long description).
  4. The terms are ORed: FTS5 gets `"csv" OR "upload" OR "guests"` (each term a quoted string, so `AND`,
     `NEAR`, `NOT` are plain words), PostgreSQL gets `to_tsquery('english', 'csv' | 'upload' | 'guests')`.
     Both stem them (porter / the english configuration). No terms: no query, no hits.

Ranking and scores
  The raw relevance is -bm25() on SQLite (title weighted TITLE_WEIGHT against the body; subject against the
  description for tickets) and ts_rank_cd(..., 1) on PostgreSQL (title/subject weighted A, body/description B,
  divided by 1 + log(document length)). Both are >= 0 and unbounded, on different scales. Each is mapped to
  0..1 by the saturating curve score = raw / (raw + half), where `half` (HALF_SCORE, per backend) is the raw
  relevance that scores 0.5. The mapping is monotone, so the order is the ranking's, and a hit's score does
  not depend on the other hits. It is a confidence for ordering and thresholds, not a probability; bm25 grows
  with the size of the collection (rarer words weigh more), so the same match scores higher in a large
  knowledge base than in a tiny one, and gives words found in over half the rows almost no weight.
  ts_rank_cd knows nothing of rarity: a word common to every article counts like a rare one.

Similar tickets on PostgreSQL search the stored, indexed column tickets.fts_document (TICKET_DOCUMENT below,
migration 0005); ranking reads the stored vector instead of parsing each matching ticket's text again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.sqlite_inline import OFFLOAD
from db.tables import KbArticleRow, MessageRow
from ticketing.model import Author, Status, Visibility

# -- schema comparison ---------------------------------------------------------------------------------------

FTS_PREFIX = "fts_"


# The dashboard's indexes on the UTC day of a moment (migration 0016): expressions that differ per dialect, so
# they live only in the migration, like the full-text objects.
BACKEND_INDEXES = frozenset({"ix_tickets_created_day", "ix_tickets_resolved_day"})


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic `include_name` hook: the backend-specific objects live only in the migrations and are not
    compared with db.tables: the full-text ones (tables, shadow tables, columns, indexes, all named `fts_*`) and
    the dashboard's expression indexes (BACKEND_INDEXES)."""
    return not (name or "").startswith(FTS_PREFIX) and not (type_ == "index" and name in BACKEND_INDEXES)


# -- values ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleHit:
    path: str
    title: str
    snippet: str
    score: float  # 0..1, see the module docstring


@dataclass(frozen=True)
class PastAnswer:
    ticket_id: str
    subject: str
    answer: str  # the last public agent message of that ticket
    score: float  # 0..1, see the module docstring


# -- query building ----------------------------------------------------------------------------------------

MAX_TERMS = 32
MAX_TERM_LENGTH = 40
_WORD = re.compile(r"[^\W_]+")

_STOP_WORDS = """
    a about above after again against all also am an and any are aren as at be because been before being below
    between both but by can cannot could couldn did didn do does doesn doing don down during each else even ever
    few for from further get gets got had hadn has hasn have haven having he her here hers herself him himself his
    how i if im in into is isn it its itself ive just let lets me more most much must mustn my myself no nor
    not now of off on once only or other our ours ourselves out over own really same shan she should shouldn
    so some still such than that thats the their theirs them themselves then there these they this those through
    to too under until up us very was wasn we were weren what whats when where which while who whom why will with
    won would wouldn yet you your yours yourself yourselves
    hi hello hey dear thanks thank thx please pls regards cheers
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


def search_terms(*texts: str) -> list[str]:
    """The words of free text worth searching for, in first-seen order (the rules are in the module docstring)."""
    terms: list[str] = []
    seen: set[str] = set()
    for chunk in texts:
        for match in _WORD.finditer(chunk):
            word = match.group().lower()
            if len(word) < 2 or len(word) > MAX_TERM_LENGTH or word in STOP_WORDS or word in seen:
                continue
            seen.add(word)
            terms.append(word)
            if len(terms) == MAX_TERMS:
                return terms
    return terms


def fts5_query(terms: Sequence[str]) -> str:
    """`"a" OR "b"`: quoted strings are never FTS5 syntax (and the terms hold no quotes; doubled if they did)."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def tsquery_text(terms: Sequence[str]) -> str:
    """`'a' | 'b'` for to_tsquery: quoted lexemes ORed (the terms are letters and digits only)."""
    return " | ".join("'" + term.replace("'", "''").replace("\\", "\\\\") + "'" for term in terms)


# -- scores ------------------------------------------------------------------------------------------------

# The raw relevance that maps to a score of 0.5, per backend (see the module docstring).
HALF_SCORE = {"sqlite": 5.0, "postgresql": 1.0}
TITLE_WEIGHT = 4.0  # SQLite bm25 column weight of a title (and a ticket subject) against the body


def to_score(raw: float, dialect: str) -> float:
    relevance = max(0.0, float(raw))
    return relevance / (relevance + HALF_SCORE[dialect])


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# -- articles ----------------------------------------------------------------------------------------------


def article_checksum(title: str, body: str) -> str:
    return hashlib.sha256(f"{title}\n\x00\n{body}".encode()).hexdigest()


async def upsert_article(session: AsyncSession, path: str, title: str, body: str, now: datetime) -> bool:
    """Insert or update the article at `path`; False (and nothing written) when its text is unchanged."""
    checksum = article_checksum(title, body)
    row = (await session.execute(select(KbArticleRow).where(KbArticleRow.path == path))).scalar()
    if row is None:
        session.add(KbArticleRow(path=path, title=title, body=body, checksum=checksum, updated_at=now))
    elif row.checksum == checksum:
        return False
    else:
        row.title, row.body, row.checksum, row.updated_at = title, body, checksum, now
    await session.flush()
    return True


async def article_paths(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(KbArticleRow.path).order_by(KbArticleRow.path))).scalars())


async def remove_missing(session: AsyncSession, keep_paths: Iterable[str]) -> int:
    """Delete the articles whose path is not in `keep_paths`; returns how many."""
    gone = sorted(set(await article_paths(session)) - set(keep_paths))
    for start in range(0, len(gone), 500):
        await session.execute(delete(KbArticleRow).where(KbArticleRow.path.in_(gone[start : start + 500])))
    return len(gone)


_SQLITE_ARTICLES = text(
    f"""{OFFLOAD}
    SELECT a.path, a.title, snippet(fts_kb_articles, 1, '', '', '…', 24) AS snippet,
           -bm25(fts_kb_articles, {TITLE_WEIGHT}, 1.0) AS raw
    FROM fts_kb_articles JOIN kb_articles a ON a.id = fts_kb_articles.rowid
    WHERE fts_kb_articles MATCH :query
    ORDER BY raw DESC, a.path
    LIMIT :limit
    """
)

_POSTGRES_ARTICLES = text(
    """
    SELECT hit.path, hit.title,
           ts_headline('english', hit.body, hit.query,
                       'StartSel="", StopSel="", MaxWords=30, MinWords=12, MaxFragments=1, FragmentDelimiter=" … "')
               AS snippet,
           hit.raw
    FROM (
        SELECT a.path, a.title, a.body, q.query, ts_rank_cd(a.fts_document, q.query, 1) AS raw
        FROM kb_articles a, to_tsquery('english', CAST(:query AS text)) AS q(query)
        WHERE a.fts_document @@ q.query
        ORDER BY raw DESC, a.path
        LIMIT :limit
    ) AS hit
    ORDER BY hit.raw DESC, hit.path
    """
)


async def search_articles(session: AsyncSession, query: str, limit: int = 3) -> list[ArticleHit]:
    """The articles best matching free text (a customer's subject and description), best first."""
    terms = search_terms(query)
    if not terms or limit <= 0:
        return []
    dialect = _dialect(session)
    if dialect == "sqlite":
        rows = await session.execute(_SQLITE_ARTICLES, {"query": fts5_query(terms), "limit": limit})
    else:
        rows = await session.execute(_POSTGRES_ARTICLES, {"query": tsquery_text(terms), "limit": limit})
    return [
        ArticleHit(path, title, " ".join(snippet.split()), to_score(raw, dialect))
        for path, title, snippet, raw in rows
    ]


# -- answers from similar resolved tickets -----------------------------------------------------------------

DONE = [Status.RESOLVED.value, Status.CLOSED.value]

# "Answered": the ticket has a public agent message.
_ANSWERED = f"""
    EXISTS (SELECT 1 FROM ticket_messages m
            WHERE m.ticket_id = t.id AND m.type = '{Author.AGENT.value}' AND m.visibility = '{Visibility.PUBLIC.value}')
"""

_SQLITE_TICKETS = text(
    f"""{OFFLOAD}
    SELECT t.id, t.subject, -bm25(fts_tickets, 0.0, {TITLE_WEIGHT}, 1.0, 0.0) AS raw
    FROM fts_tickets JOIN tickets t ON t.id = fts_tickets.ticket_id
    WHERE fts_tickets MATCH :query AND t.status IN :done AND t.id != :exclude AND {_ANSWERED}
    ORDER BY raw DESC, t.id
    LIMIT :limit
    """
).bindparams(bindparam("done", expanding=True))

# The tickets' stored search vector (migration 0005), indexed: ranking reads it instead of parsing the text again.
TICKET_DOCUMENT = "t.fts_document"

_POSTGRES_TICKETS = text(
    f"""
    SELECT t.id, t.subject, ts_rank_cd({TICKET_DOCUMENT}, q.query, 1) AS raw
    FROM tickets t, to_tsquery('english', CAST(:query AS text)) AS q(query)
    WHERE {TICKET_DOCUMENT} @@ q.query AND t.status IN :done AND t.id != :exclude AND {_ANSWERED}
    ORDER BY raw DESC, t.id
    LIMIT :limit
    """
).bindparams(bindparam("done", expanding=True))


async def last_public_agent_message(session: AsyncSession, ticket_id: str) -> str | None:
    found = await session.execute(
        select(MessageRow.message)
        .where(
            MessageRow.ticket_id == ticket_id,
            MessageRow.type == Author.AGENT.value,
            MessageRow.visibility == Visibility.PUBLIC.value,
        )
        .order_by(MessageRow.seq.desc())
        .limit(1)
    )
    return found.scalar()


async def similar_resolved(
    session: AsyncSession, subject: str, description: str, limit: int = 3, exclude_ticket: str = ""
) -> list[PastAnswer]:
    """The answers (last public agent message) of the resolved or closed tickets most like this one, best
    first; a ticket's own id can be excluded. The same answer given to several tickets is suggested once."""
    terms = search_terms(subject, description)
    if not terms or limit <= 0:
        return []
    dialect = _dialect(session)
    query = fts5_query(terms) if dialect == "sqlite" else tsquery_text(terms)
    statement = _SQLITE_TICKETS if dialect == "sqlite" else _POSTGRES_TICKETS
    rows = (
        await session.execute(
            statement, {"query": query, "done": DONE, "exclude": exclude_ticket, "limit": limit * 3}
        )
    ).all()
    answers: list[PastAnswer] = []
    seen: set[str] = set()
    for ticket_id, ticket_subject, raw in rows:
        answer = await last_public_agent_message(session, ticket_id)
        if answer is None or answer.strip() in seen:
            continue
        seen.add(answer.strip())
        answers.append(PastAnswer(ticket_id, ticket_subject, answer, to_score(raw, dialect)))
        if len(answers) == limit:
            break
    return answers
