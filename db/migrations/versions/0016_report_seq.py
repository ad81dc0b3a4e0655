"""tickets.report_seq: a change counter kept by the database, for the dashboard's per-day tallies

The dashboard keeps the tallies of each closed UTC day in memory (db/report_days.py) and asks the database, on
every page, whether any ticket of those days changed since: per day the number of tickets created (resolved) on
it and the sum of their `report_seq`. The counter is bumped by triggers, not by our code, so no write path can
forget it: every UPDATE of a ticket, and every insert, change or delete of a ticket's link (a merge is a link),
adds one to that ticket's counter. A new or deleted ticket changes the day's count. Two indexes on the UTC day
of the moment (an expression: SQLite's text prefix, PostgreSQL's date at UTC) make the check one ordered range of
an index per side, grouped as it is read (db/report_days.py writes the same expressions). And an index that covers
the dashboard's read of the open tickets, which visited a table row per open ticket.

No hot row: each write bumps only its own ticket's row, which it holds locked already.

Revision ID: 0016_report_seq
Revises: 0015_digest_runs
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016_report_seq'
down_revision = '0015_digest_runs'
branch_labels = None
depends_on = None

_SQLITE = (
    # AFTER UPDATE, only when the statement left the counter alone (so the trigger's own UPDATE stops here).
    """CREATE TRIGGER tickets_report_seq AFTER UPDATE ON tickets FOR EACH ROW
       WHEN NEW.report_seq = OLD.report_seq
       BEGIN UPDATE tickets SET report_seq = OLD.report_seq + 1 WHERE id = NEW.id; END""",
    """CREATE TRIGGER ticket_links_report_seq_insert AFTER INSERT ON ticket_links FOR EACH ROW
       BEGIN UPDATE tickets SET report_seq = report_seq + 1 WHERE id = NEW.ticket_id; END""",
    """CREATE TRIGGER ticket_links_report_seq_update AFTER UPDATE ON ticket_links FOR EACH ROW
       BEGIN UPDATE tickets SET report_seq = report_seq + 1 WHERE id IN (OLD.ticket_id, NEW.ticket_id); END""",
    """CREATE TRIGGER ticket_links_report_seq_delete AFTER DELETE ON ticket_links FOR EACH ROW
       BEGIN UPDATE tickets SET report_seq = report_seq + 1 WHERE id = OLD.ticket_id; END""",
)
_SQLITE_DROP = ("tickets_report_seq", "ticket_links_report_seq_insert", "ticket_links_report_seq_update",
                "ticket_links_report_seq_delete")

_POSTGRESQL = (
    """CREATE FUNCTION tickets_report_seq() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN NEW.report_seq := OLD.report_seq + 1; RETURN NEW; END $$""",
    """CREATE TRIGGER tickets_report_seq BEFORE UPDATE ON tickets FOR EACH ROW EXECUTE FUNCTION tickets_report_seq()""",
    """CREATE FUNCTION ticket_links_report_seq() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP <> 'INSERT' THEN UPDATE tickets SET report_seq = report_seq + 1 WHERE id = OLD.ticket_id; END IF;
         IF TG_OP <> 'DELETE' THEN UPDATE tickets SET report_seq = report_seq + 1 WHERE id = NEW.ticket_id; END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER ticket_links_report_seq AFTER INSERT OR UPDATE OR DELETE ON ticket_links FOR EACH ROW
       EXECUTE FUNCTION ticket_links_report_seq()""",
)


def _day_indexes(sqlite: bool) -> tuple[str, ...]:
    """The day of creation and of the resolve, with the counter (and on SQLite the moment itself, so that the
    index covers the read)."""
    if sqlite:
        return tuple(f"CREATE INDEX ix_tickets_{name}_day ON tickets (substr({name}_at, 1, 10), report_seq, {name}_at)"
                     for name in ("created", "resolved"))
    return tuple(f"CREATE INDEX ix_tickets_{name}_day ON tickets ((({name}_at AT TIME ZONE 'UTC')::date), report_seq)"
                 for name in ("created", "resolved"))


_OPEN_COVERED = ("status", "priority", "created_at", "resolved_at", "closed_at", "team", "id")


def upgrade() -> None:
    op.add_column('tickets', sa.Column('report_seq', sa.Integer(), server_default='0', nullable=False))
    # The dashboard's read of the open tickets (one status at a time): no table row visited.
    op.create_index('ix_tickets_report_open', 'tickets', list(_OPEN_COVERED), unique=False)
    sqlite = op.get_context().dialect.name == "sqlite"
    for statement in (*_day_indexes(sqlite), *(_SQLITE if sqlite else _POSTGRESQL)):
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for name in _SQLITE_DROP:
            op.execute(f"DROP TRIGGER {name}")
    else:
        op.execute("DROP TRIGGER ticket_links_report_seq ON ticket_links")
        op.execute("DROP FUNCTION ticket_links_report_seq()")
        op.execute("DROP TRIGGER tickets_report_seq ON tickets")
        op.execute("DROP FUNCTION tickets_report_seq()")
    op.drop_index('ix_tickets_report_open', table_name='tickets')
    op.drop_index('ix_tickets_resolved_day', table_name='tickets')
    op.drop_index('ix_tickets_created_day', table_name='tickets')
    op.drop_column('tickets', 'report_seq')  # SQLite 3.35+ drops a column in place
