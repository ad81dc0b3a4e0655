"""SQLite: the tickets' full-text index knows each ticket's day

The similar-ticket search on every new ticket looks at the last 14 days, but FTS5 ranked every matching ticket
of all time before the date was checked: about 100 ms a new ticket with 100,000 tickets stored. The index now
has a `day` column (a token like d20261126, from created_at), and the search asks for the days it wants, so
FTS5 ranks only those tickets. PostgreSQL is unchanged (its search filters by created_at before ranking).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 21:40:00
"""

from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TOKENIZER = "porter unicode61 remove_diacritics 2"
DAY = "'d' || replace(substr({0}.created_at, 1, 10), '-', '')"


def _rebuild(with_day: bool) -> list[str]:
    columns = "ticket_id UNINDEXED, subject, description" + (", day" if with_day else "")
    names = "ticket_id, subject, description" + (", day" if with_day else "")
    new = "new.id, new.subject, new.description" + (f", {DAY.format('new')}" if with_day else "")
    rows = "id, subject, description" + (f", {DAY.format('tickets')}" if with_day else "")
    return [
        "DROP TRIGGER IF EXISTS fts_tickets_au",
        "DROP TRIGGER IF EXISTS fts_tickets_ad",
        "DROP TRIGGER IF EXISTS fts_tickets_ai",
        "DROP TABLE IF EXISTS fts_tickets",
        f"CREATE VIRTUAL TABLE fts_tickets USING fts5({columns}, tokenize='{TOKENIZER}')",
        f"""CREATE TRIGGER fts_tickets_ai AFTER INSERT ON tickets BEGIN
            INSERT INTO fts_tickets({names}) VALUES ({new});
        END""",
        """CREATE TRIGGER fts_tickets_ad AFTER DELETE ON tickets BEGIN
            DELETE FROM fts_tickets WHERE ticket_id = old.id;
        END""",
        f"""CREATE TRIGGER fts_tickets_au AFTER UPDATE OF id, subject, description, created_at ON tickets BEGIN
            DELETE FROM fts_tickets WHERE ticket_id = old.id;
            INSERT INTO fts_tickets({names}) VALUES ({new});
        END""",
        f"INSERT INTO fts_tickets({names}) SELECT {rows} FROM tickets",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for statement in _rebuild(with_day=True):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for statement in _rebuild(with_day=False):
            op.execute(statement)
