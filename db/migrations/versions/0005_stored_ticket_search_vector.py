"""PostgreSQL: the tickets' search vector stored, not recomputed

The similar-ticket search (db.related) and past answers (db.kb) ranked every matching ticket with ts_rank_cd
over the expression of the index fts_tickets_document, so PostgreSQL parsed each matching ticket's text again
on every search: 3.7 ms a new ticket after only 300 tickets, and growing with history. The vector is now a
stored generated column, indexed, as kb_articles.fts_document already was. SQLite (FTS5) is unchanged.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 20:45:00
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

POSTGRES_UP = [
    """ALTER TABLE tickets ADD COLUMN fts_document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, subject), 'A')
        || setweight(to_tsvector('english'::regconfig, description), 'B')) STORED""",
    "CREATE INDEX fts_tickets_stored_document ON tickets USING gin (fts_document)",
    "DROP INDEX IF EXISTS fts_tickets_document",
]

POSTGRES_DOWN = [
    """CREATE INDEX fts_tickets_document ON tickets USING gin ((
        setweight(to_tsvector('english'::regconfig, subject), 'A')
        || setweight(to_tsvector('english'::regconfig, description), 'B')))""",
    "DROP INDEX IF EXISTS fts_tickets_stored_document",
    "ALTER TABLE tickets DROP COLUMN IF EXISTS fts_document",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for statement in POSTGRES_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for statement in POSTGRES_DOWN:
            op.execute(statement)
