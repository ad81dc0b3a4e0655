"""knowledge base and full-text search

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000

`kb_articles` is an ordinary table (declared in db/tables.py). The full-text machinery differs per backend and
exists only here; every object of it is named `fts_*`, which db.kb.include_name keeps out of autogenerate's
comparison with the declared tables.

SQLite (FTS5, tokenizer `porter unicode61 remove_diacritics 2`):
  - fts_kb_articles: external-content FTS5 table over kb_articles(title, body), rowid = kb_articles.id,
    kept in sync by the triggers fts_kb_articles_ai/_ad/_au.
  - fts_tickets: FTS5 table (its own copy of the text) over tickets(subject, description), with the ticket id
    as an UNINDEXED column. tickets.id is not an INTEGER PRIMARY KEY, so its implicit rowid may change (VACUUM,
    a batch migration copying the table): the index is keyed by the ticket id instead. Triggers
    fts_tickets_ai/_ad/_au keep it in sync; _au fires only when subject or description change.
  NOTE for later migrations: a batch ALTER of `tickets` (render_as_batch recreates the table) drops these
  triggers with the old table; such a migration must recreate them and rebuild fts_tickets.

PostgreSQL:
  - kb_articles.fts_document: tsvector GENERATED ALWAYS AS (title weighted A || body weighted B) STORED,
    with the GIN index fts_kb_articles_document.
  - fts_tickets_document: a GIN expression index on tickets over the same kind of weighted vector of subject
    (A) and description (B). db/kb.py repeats the expression verbatim so the planner can use the index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

TOKENIZER = "porter unicode61 remove_diacritics 2"

SQLITE_UP = [
    f"""CREATE VIRTUAL TABLE fts_kb_articles USING fts5(
        title, body, content='kb_articles', content_rowid='id', tokenize='{TOKENIZER}')""",
    """CREATE TRIGGER fts_kb_articles_ai AFTER INSERT ON kb_articles BEGIN
        INSERT INTO fts_kb_articles(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    """CREATE TRIGGER fts_kb_articles_ad AFTER DELETE ON kb_articles BEGIN
        INSERT INTO fts_kb_articles(fts_kb_articles, rowid, title, body)
            VALUES ('delete', old.id, old.title, old.body);
    END""",
    """CREATE TRIGGER fts_kb_articles_au AFTER UPDATE ON kb_articles BEGIN
        INSERT INTO fts_kb_articles(fts_kb_articles, rowid, title, body)
            VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO fts_kb_articles(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    f"""CREATE VIRTUAL TABLE fts_tickets USING fts5(
        ticket_id UNINDEXED, subject, description, tokenize='{TOKENIZER}')""",
    """CREATE TRIGGER fts_tickets_ai AFTER INSERT ON tickets BEGIN
        INSERT INTO fts_tickets(ticket_id, subject, description) VALUES (new.id, new.subject, new.description);
    END""",
    """CREATE TRIGGER fts_tickets_ad AFTER DELETE ON tickets BEGIN
        DELETE FROM fts_tickets WHERE ticket_id = old.id;
    END""",
    """CREATE TRIGGER fts_tickets_au AFTER UPDATE OF id, subject, description ON tickets BEGIN
        DELETE FROM fts_tickets WHERE ticket_id = old.id;
        INSERT INTO fts_tickets(ticket_id, subject, description) VALUES (new.id, new.subject, new.description);
    END""",
    # Tickets stored before this migration.
    "INSERT INTO fts_tickets(ticket_id, subject, description) SELECT id, subject, description FROM tickets",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS fts_tickets_au",
    "DROP TRIGGER IF EXISTS fts_tickets_ad",
    "DROP TRIGGER IF EXISTS fts_tickets_ai",
    "DROP TABLE IF EXISTS fts_tickets",
    "DROP TRIGGER IF EXISTS fts_kb_articles_au",
    "DROP TRIGGER IF EXISTS fts_kb_articles_ad",
    "DROP TRIGGER IF EXISTS fts_kb_articles_ai",
    "DROP TABLE IF EXISTS fts_kb_articles",
]

POSTGRES_UP = [
    """ALTER TABLE kb_articles ADD COLUMN fts_document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A')
        || setweight(to_tsvector('english'::regconfig, body), 'B')) STORED""",
    "CREATE INDEX fts_kb_articles_document ON kb_articles USING gin (fts_document)",
    """CREATE INDEX fts_tickets_document ON tickets USING gin ((
        setweight(to_tsvector('english'::regconfig, subject), 'A')
        || setweight(to_tsvector('english'::regconfig, description), 'B')))""",
]

POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS fts_tickets_document",
    "DROP INDEX IF EXISTS fts_kb_articles_document",
    "ALTER TABLE kb_articles DROP COLUMN IF EXISTS fts_document",
]


def upgrade() -> None:
    op.create_table('kb_articles',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_articles')),
    sa.UniqueConstraint('path', name=op.f('uq_kb_articles_path'))
    )
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        statements = SQLITE_UP
    elif dialect == 'postgresql':
        statements = POSTGRES_UP
    else:
        raise NotImplementedError(f"no full-text search for {dialect}; use SQLite or PostgreSQL")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == 'sqlite' else POSTGRES_DOWN:
        op.execute(statement)
    op.drop_table('kb_articles')
