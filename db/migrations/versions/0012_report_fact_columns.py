"""tickets: plain copies of the JSON values the reports read, and an index that covers the report facts

The dashboard read, per ticket of its period, three flags out of `metadata` and the SLA clocks' used minutes
and stop moments out of `sla_state`, by JSON extraction in the database, then visited the row for the other
columns: at 100,000 tickets that was most of the dashboard's time. The values now have plain columns (kept by
db/tickets.py and db/sla.py on every write), and `ix_tickets_report_facts` holds, ordered by creation, every
column the report facts read, so the period's tickets are one range of one index.

Existing rows get their copies here, extracted from the JSON exactly as the reports extracted them.

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-03 08:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = '0012'
down_revision = '0008'
branch_labels = None
depends_on = None

_COVERED = ("created_at", "team", "category", "priority", "user_tier", "status", "first_response_at",
            "resolved_at", "closed_at", "assigned_to", "escalation_level", "sla_breach", "satisfaction_rating",
            "tags", "report_reopened", "report_deflected", "report_imported", "first_clock_used",
            "first_clock_stopped_at", "resolution_clock_used", "resolution_clock_stopped_at", "id")


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD/DROP COLUMN, not batch mode: a rebuilt tickets table on SQLite would lose the
    # full-text triggers of 0006.
    op.add_column('tickets', sa.Column('report_reopened', sa.Integer(), server_default='0', nullable=False))
    op.add_column('tickets', sa.Column('report_deflected', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('tickets', sa.Column('report_imported', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('tickets', sa.Column('first_clock_used', sa.Float(), nullable=True))
    op.add_column('tickets', sa.Column('first_clock_stopped_at', sa.String(length=40), nullable=True))
    op.add_column('tickets', sa.Column('resolution_clock_used', sa.Float(), nullable=True))
    op.add_column('tickets', sa.Column('resolution_clock_stopped_at', sa.String(length=40), nullable=True))
    json = sa.JSON().with_variant(JSONB(), 'postgresql')
    tickets = sa.table('tickets', sa.column('metadata', json), sa.column('sla_state', json),
                       *(sa.column(name) for name in ('report_reopened', 'report_deflected', 'report_imported',
                                                      'first_clock_used', 'first_clock_stopped_at',
                                                      'resolution_clock_used', 'resolution_clock_stopped_at')))
    meta, state = tickets.c.metadata, tickets.c.sla_state
    op.execute(tickets.update().values(
        report_reopened=sa.func.coalesce(meta[('extra', 'reopened')].as_integer(), 0),
        report_deflected=sa.func.coalesce(meta[('extra', 'deflected')].as_boolean(), sa.false()),
        report_imported=sa.func.coalesce(meta[('extra', 'imported')].as_boolean(), sa.false()),
        first_clock_used=state[('clocks', 0, 'used')].as_float(),
        first_clock_stopped_at=state[('clocks', 0, 'stopped_at')].as_string(),
        resolution_clock_used=state[('clocks', 1, 'used')].as_float(),
        resolution_clock_stopped_at=state[('clocks', 1, 'stopped_at')].as_string(),
    ))
    op.create_index('ix_tickets_report_facts', 'tickets', list(_COVERED), unique=False)


def downgrade() -> None:
    op.drop_index('ix_tickets_report_facts', table_name='tickets')
    for name in ('resolution_clock_stopped_at', 'resolution_clock_used', 'first_clock_stopped_at',
                 'first_clock_used', 'report_imported', 'report_deflected', 'report_reopened'):
        op.drop_column('tickets', name)  # SQLite 3.35+ drops a column in place
